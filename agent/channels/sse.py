"""Server-sent events: the one writer behind every live stream (a REST customer's messages from a
person, the agent desk's news). The caller registers its queue first, so nothing published after the
client reads `: connected` is missed; a None in the queue ends the stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

KEEPALIVE_S = 15.0  # a comment line on an idle stream, so proxies keep it open
HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}

Render = Callable[[Any], "tuple[str, dict] | None"]  # an item -> (event name, data), or None to skip it


async def stream_events(
    request: web.Request, queue: asyncio.Queue, render: Render, keepalive_s: float = KEEPALIVE_S
) -> web.StreamResponse:
    response = web.StreamResponse(headers=HEADERS)
    await response.prepare(request)
    await response.write(b": connected\n\n")
    while True:
        try:
            item = await asyncio.wait_for(queue.get(), keepalive_s)
        except asyncio.TimeoutError:
            await response.write(b": keep-alive\n\n")
            continue
        if item is None:
            return response
        event = render(item)
        if event is not None:
            name, data = event
            await response.write(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
