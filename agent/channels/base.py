"""What every channel shares: the inbound message, the turn runner it hands messages to, de-duplication
of retried deliveries, and background tasks that graceful shutdown waits for."""
from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from aiohttp import web

BotMessage = dict[str, Any]  # {"recipient_id", "text", "buttons": [{"title", "payload"}], "image", "custom"}


@dataclass(frozen=True)
class InboundMessage:
    """One user message as the dialogue engine sees it, whatever channel it came from."""
    channel: str
    sender_id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


class TurnRunner(Protocol):
    async def submit(self, message: InboundMessage) -> list[BotMessage]:
        """Run one turn; messages of one sender run one at a time, in arrival order."""


class Deduplicator:
    """Remembers delivery keys for `ttl` seconds (bounded), so a platform's retry is not answered twice."""

    def __init__(self, ttl: float = 3600.0, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_keys, self.clock = ttl, max_keys, clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, *keys: str | None) -> bool:
        """True when none of the keys was seen before; records them all."""
        now = self.clock()
        while self._seen and (next(iter(self._seen.values())) < now - self.ttl or len(self._seen) > self.max_keys):
            self._seen.popitem(last=False)
        present = [k for k in keys if k]
        if any(k in self._seen for k in present):
            return False
        for k in present:
            self._seen[k] = now
        return True


class BackgroundTasks:
    """Keeps references to fire-and-forget work (asyncio would otherwise garbage-collect it) and lets
    shutdown wait for in-flight turns."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float = 30.0) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        return len(self._tasks)


class Channel(ABC):
    """A webhook channel: its routes take platform requests, hand messages to the runner, send replies."""
    name: str

    def __init__(self) -> None:
        self.background = BackgroundTasks()

    @abstractmethod
    def routes(self, runner: TurnRunner) -> list[web.RouteDef]:
        ...

    async def close(self) -> None:
        """Finish in-flight turns and replies (graceful shutdown)."""
        await self.background.drain()
