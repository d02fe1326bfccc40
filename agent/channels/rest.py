"""Rasa's REST channel: POST {"sender", "message", "metadata"}, answer with the bot's messages."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from aiohttp import web

from agent.channels.base import BotMessage, Channel, RateLimited, TurnRunner
from agent.channels.sse import stream_events
from agent.core.processor import UserMessage
from agent.metrics import CHANNEL_ERRORS


def bad_request(message: str, channel: str = "rest") -> web.Response:
    CHANNEL_ERRORS.labels(channel=channel, kind="bad_request").inc()
    return web.json_response({"error": message}, status=400)


def too_many(exc: RateLimited) -> web.Response:
    return web.json_response(
        {"error": str(exc)}, status=429, headers={"Retry-After": str(max(1, round(exc.retry_after + 0.5)))}
    )


async def json_body(request: web.Request) -> dict | web.Response:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        return bad_request("the body is not valid JSON")
    except RecursionError:
        return bad_request("the body nests JSON too deeply")
    if not isinstance(body, dict):
        return bad_request("the body must be a JSON object")
    try:  # JSON may escape lone surrogates (\ud800), which no UTF-8 store or encoder accepts
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return bad_request("the body holds text that is not valid Unicode (a lone surrogate such as \\ud800)")
    return body


MAX_LISTENERS = 10_000


class RestChannel(Channel):
    """Also streams what a person writes during a handoff: `GET /webhooks/rest/stream?sender=ID` is a
    server-sent event stream of those messages, for web clients that keep it open."""

    name = "rest"

    def __init__(self) -> None:
        super().__init__()
        self._listeners: dict[str, set[asyncio.Queue]] = defaultdict(set)

    async def push(self, sender_id: str, messages: list[BotMessage]) -> bool:
        queues = self._listeners.get(sender_id)
        for queue in queues or ():
            for message in messages:
                queue.put_nowait(message)
        return bool(queues)

    async def close(self) -> None:
        for queues in self._listeners.values():
            for queue in queues:
                queue.put_nowait(None)
        await super().close()

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        sender = request.query.get("sender", "")
        if not sender:
            return bad_request('"sender" is required, e.g. /webhooks/rest/stream?sender=u1')
        if sum(len(q) for q in self._listeners.values()) >= MAX_LISTENERS:
            return web.json_response({"error": "too many open streams"}, status=503)
        queue: asyncio.Queue = asyncio.Queue()
        self._listeners[sender].add(queue)
        try:
            return await stream_events(request, queue, lambda message: ("message", message))
        finally:
            self._listeners[sender].discard(queue)
            if not self._listeners[sender]:
                del self._listeners[sender]

    @classmethod
    def from_credentials(cls, settings: dict | None) -> RestChannel:
        return cls()

    def routes(self, runner: TurnRunner) -> list[web.RouteDef]:
        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        async def webhook(request: web.Request) -> web.Response:
            body = await json_body(request)
            if isinstance(body, web.Response):
                return body
            # what this accepts is what /openapi.json declares (agent/server/openapi.py): keep them together
            sender, text, metadata = body.get("sender", "default"), body.get("message"), body.get("metadata")
            channel = body.get("input_channel")
            if not isinstance(text, str):
                return bad_request('"message" must be a string, e.g. {"sender": "u1", "message": "hi"}')
            # Rasa takes a number too (the conversation "7" is sender 7); a boolean is a client's mistake
            if isinstance(sender, bool) or not isinstance(sender, (str, int)) or sender == "":
                return bad_request('"sender" must be a non-empty string, e.g. {"sender": "u1", "message": "hi"}')
            if metadata is not None and not isinstance(metadata, dict):
                return bad_request('"metadata" must be a JSON object')
            if channel is not None and not isinstance(channel, str):
                return bad_request('"input_channel" must be a string')
            try:
                messages = await runner.submit(
                    UserMessage(
                        text, str(sender), "rest" if channel is None else channel, metadata=metadata or {}, via="rest"
                    )
                )
            except RateLimited as exc:
                return too_many(exc)
            return web.json_response(messages)

        return [
            web.get("/webhooks/rest/", health),
            web.post("/webhooks/rest/webhook", webhook),
            web.get("/webhooks/rest/stream", self._stream),
        ]
