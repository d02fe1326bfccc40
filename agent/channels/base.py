"""What every channel shares: the turn runner it hands messages to, de-duplication
of retried deliveries, and background tasks that graceful shutdown waits for."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

from aiohttp import web

from agent.core.processor import TurnResult, UserMessage

V = TypeVar("V")
BotMessage = dict[str, Any]  # {"recipient_id", "text", "buttons": [{"title", "payload"}], "image", "custom"}


class RateLimited(Exception):
    """The turn runner refused a message: its sender sent too many too fast."""

    def __init__(self, retry_after: float):
        super().__init__(f"too many messages; retry in {retry_after:.1f} s")
        self.retry_after = retry_after


class TurnRunner(Protocol):
    async def submit(self, message: UserMessage) -> list[BotMessage]:
        """Run one turn; messages of one sender run one at a time, in arrival order."""

    async def turn(self, message: UserMessage) -> TurnResult:
        """Like submit, with the whole result (events, slots, the handoff state after the turn)."""

    async def mirror_handoff(self, sender_id: str, with_person: bool, agent: str | None = None, by: str = "") -> dict:
        """Make the conversation's handoff state match what a platform's own desk says; the state after."""


class ExpiringMap(Generic[V]):
    """Bounded in-process map whose entries expire: retried deliveries, nonces, pending replies."""

    def __init__(self, ttl: float, max_items: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.max_items, self.clock = ttl, max_items, clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        self._prune()
        item = self._items.get(key)
        return item[1] if item else None

    def put(self, key: str, value: V) -> None:
        self._items[key] = (self.clock(), value)
        self._items.move_to_end(key)
        self._prune()

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def _prune(self) -> None:
        oldest = self.clock() - self.ttl
        while self._items and (len(self._items) > self.max_items or next(iter(self._items.values()))[0] < oldest):
            self._items.popitem(last=False)


class Deduplicator:
    """Remembers delivery keys for `ttl` seconds (bounded), so a platform's retry is not answered twice."""

    def __init__(self, ttl: float = 3600.0, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self._seen: ExpiringMap[bool] = ExpiringMap(ttl, max_keys, clock)

    def first_time(self, *keys: str | None) -> bool:
        """True when none of the keys was seen before; records them all."""
        present = [k for k in keys if k]
        if any(self._seen.get(k) for k in present):
            return False
        for k in present:
            self._seen.put(k, True)
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
    def routes(self, runner: TurnRunner) -> list[web.RouteDef]: ...

    async def push(self, sender_id: str, messages: list[BotMessage]) -> bool:
        """Send messages the customer did not ask for (a person's replies during a handoff); False
        where this channel cannot reach the customer outside a turn."""
        return False

    async def close(self) -> None:
        """Finish in-flight turns and replies (graceful shutdown)."""
        await self.background.drain()
