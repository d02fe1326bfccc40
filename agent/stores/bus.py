"""News between the workers that share a tracker store: a handoff or an agent's message handled by
one worker reaches the agent desks and customer streams connected to the others. Redis pub/sub for
a Redis store, PostgreSQL LISTEN/NOTIFY for a PostgreSQL one; one process needs neither.

A bus carries text; delivery is at most once and in the order one worker published (the
conversation's lock orders the publishers of one conversation)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Deliver = Callable[[str], None]
RECONNECT_S = 1.0
NOTIFY_LIMIT = 7900  # PostgreSQL refuses NOTIFY payloads from 8000 bytes on


class LocalBus:
    """One process: nothing to cross."""

    crosses_workers = False

    async def publish(self, payload: str) -> None:
        return None

    async def listen(self, deliver: Deliver) -> None:
        await asyncio.Event().wait()  # nothing ever arrives; cancelled at shutdown

    async def close(self) -> None:
        return None


class RedisBus:
    crosses_workers = True

    def __init__(self, options: dict, channel: str):
        import redis.asyncio as aioredis

        self.channel = channel
        self._redis = aioredis.Redis(**options)

    async def publish(self, payload: str) -> None:
        await self._redis.publish(self.channel, payload)

    async def listen(self, deliver: Deliver) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            deliver(message["data"].decode("utf-8", "replace"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server went away: keep trying, news resumes when it is back
                log.warning("handoff news: Redis subscription lost (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(RECONNECT_S)

    async def close(self) -> None:
        await self._redis.aclose()


class PostgresBus:
    crosses_workers = True

    def __init__(self, options: dict, channel: str):
        self.options, self.channel = options, channel
        self._sender = None
        self._lock = asyncio.Lock()

    async def publish(self, payload: str) -> None:
        import asyncpg

        if len(payload.encode("utf-8")) > NOTIFY_LIMIT:
            log.warning("handoff news: a %d-byte item is too large for NOTIFY; not sent to other workers", len(payload))
            return
        async with self._lock:
            try:
                if self._sender is None or self._sender.is_closed():
                    self._sender = await asyncpg.connect(**self.options)
                await self._sender.execute("SELECT pg_notify($1, $2)", self.channel, payload)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("handoff news: NOTIFY failed (%s)", type(exc).__name__)
                self._sender = None

    async def listen(self, deliver: Deliver) -> None:
        import asyncpg

        while True:
            try:
                conn = await asyncpg.connect(**self.options)
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as exc:
                log.warning("handoff news: cannot LISTEN (%s); retrying", type(exc).__name__)
                await asyncio.sleep(RECONNECT_S)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
            try:
                await conn.add_listener(self.channel, lambda _c, _pid, _ch, payload: deliver(payload))
                await lost.wait()
            finally:
                if not conn.is_closed():
                    await conn.close()
            log.warning("handoff news: LISTEN connection lost; reconnecting")
            await asyncio.sleep(RECONNECT_S)

    async def close(self) -> None:
        if self._sender is not None and not self._sender.is_closed():
            await self._sender.close()
