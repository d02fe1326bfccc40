"""Lock stores: the turns of one conversation run one at a time, in arrival order.

Every lock store offers `async with locks.hold(sender_id): ...` and `await locks.close()`. The
default (`lock_store: {type: in_memory}`) orders turns inside one process; `type: redis`
(agent/server/redis_lock.py) orders them across every worker that shares the Redis."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class LockStore(Protocol):
    def hold(self, sender_id: str) -> AbstractAsyncContextManager:
        """Wait for this conversation's earlier turns, then hold it until the block exits."""

    async def close(self) -> None:
        """Release connections (server shutdown)."""


class ConversationLocks:
    """asyncio.Lock wakes waiters first-in first-out, so one sender's turns run one at a time in
    arrival order. A lock lives only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, sender_id: str):
        lock = self._locks.setdefault(sender_id, asyncio.Lock())
        self._users[sender_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[sender_id] -= 1
            if not self._users[sender_id]:
                del self._users[sender_id], self._locks[sender_id]

    async def close(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._locks)


InMemoryLockStore = ConversationLocks
