"""Conversations in Redis: one list per conversation, one JSON event per item, appended per turn.

Several server workers may share one Redis, so nothing is cached in process: a turn reads the list
it extends. The client binds its connections to the event loop that first uses it (the server's)."""
from __future__ import annotations

import json
import re

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from agent.bot.domain import Domain
from agent.core.events import Event, events_from_dicts
from agent.core.store import StoreUnavailable, TrackerConflict, TrackerStore, first_seq
from agent.core.tracker import Tracker

DEFAULT_PREFIX = "agent:tracker:"

# KEYS[1] the conversation; ARGV[1] the length the writer read; ARGV[2] TTL in ms (0: none);
# ARGV[3..] the new events. Returns -1 when appended, else the length found (nothing written).
# RPUSH goes in slices because Lua's unpack has a stack limit of a few thousand values.
APPEND = """
local n = redis.call('LLEN', KEYS[1])
if n ~= tonumber(ARGV[1]) then return n end
for i = 3, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return -1
"""


async def ping(options: dict) -> None:
    """Ping on a throwaway connection without retries, so a wrong address fails at once (the tracker
    store and the lock store check their Redis this way at start-up)."""
    probe = aioredis.Redis(**options, retry=Retry(NoBackoff(), 0))
    try:
        await probe.ping()
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(str(exc) or type(exc).__name__) from None
    finally:
        await probe.aclose()


class RedisTrackerStore(TrackerStore):
    """Rasa's `type: redis` store.

    `save` runs one Lua script, atomic on the Redis server: it appends the turn only if the list
    still holds exactly the events this tracker was read with, else raises TrackerConflict. That is
    what makes concurrent writers (workers, or a turn racing the HTTP API) safe: the second writer's
    turn is refused instead of interleaved or lost. `record_exp` (seconds) expires a conversation
    that long after its last save; a turn that outlives its conversation's expiry conflicts too."""

    def __init__(self, host: str = "localhost", port: int = 6379, db: int = 0, username: str | None = None,
                 password: str | None = None, use_ssl: bool = False, key_prefix: str = DEFAULT_PREFIX,
                 record_exp: float | None = None, connect_timeout: float = 5.0):
        self.host, self.port, self.db = host, port, db
        self.key_prefix = key_prefix
        self.record_exp = record_exp
        self._options = dict(host=host, port=port, db=db, username=username, password=password, ssl=use_ssl,
                             socket_connect_timeout=connect_timeout)
        self._redis = aioredis.Redis(**self._options)
        self._append = self._redis.register_script(APPEND)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def key(self, sender_id: str) -> str:
        return self.key_prefix + sender_id

    async def check(self) -> None:
        await ping(self._options)

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        items = await self._redis.lrange(self.key(sender_id), 0, -1)
        if not items:
            return None
        return Tracker(sender_id, domain, events_from_dicts([json.loads(item) for item in items]))

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        first = first_seq(tracker, new_events)
        ttl_ms = int(self.record_exp * 1000) if self.record_exp else 0
        found = await self._append(keys=[self.key(tracker.sender_id)],
                                   args=[first, ttl_ms, *(json.dumps(e.as_dict()) for e in new_events)])
        if found != -1:
            raise TrackerConflict(tracker.sender_id, first, found)

    async def sender_ids(self) -> list[str]:
        start = len(self.key_prefix)
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.key_prefix) + "*"  # the prefix matches literally
        return sorted([key.decode()[start:] async for key in self._redis.scan_iter(match=pattern)])

    async def close(self) -> None:
        await self._redis.aclose()
