"""Conversations in Redis: one list per conversation, one JSON event per item, appended per turn,
and a snapshot of the conversation every so many events.

Several server workers may share one Redis. Each keeps the conversations it served recently and,
on the next turn, reads only the events other workers appended since; a conversation it does not
hold loads from its snapshot plus the events after it. The client binds its connections to the
event loop that first uses it (the server's)."""

from __future__ import annotations

import json
import re

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from agent.bot.domain import Domain
from agent.core.events import Event, events_from_dicts
from agent.core.tracker import Tracker
from agent.stores import snapshot
from agent.stores.base import StoreUnavailable, TrackerConflict, TrackerStore, first_seq, snapshot_for
from agent.stores.bus import RedisBus
from agent.stores.cache import TrackerCache

DEFAULT_PREFIX = "agent:tracker:"
SNAPSHOT_PREFIX = "snapshot:"  # + key_prefix + sender id: outside the conversations' key space

# KEYS: the conversation, its snapshot. ARGV[1] the length the writer read; ARGV[2] TTL in ms (0:
# none); ARGV[3] a snapshot of the conversation after this turn, or ''; ARGV[4..] the new events.
# Returns -1 when appended, else the length found (nothing written). RPUSH goes in slices because
# Lua's unpack has a stack limit of a few thousand values.
APPEND = """
local n = redis.call('LLEN', KEYS[1])
if n ~= tonumber(ARGV[1]) then return n end
if n == 0 then redis.call('DEL', KEYS[2]) end
for i = 4, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return -1
"""

# KEYS: the conversation, its snapshot. ARGV[1] how many events this worker already holds (0: none)
# and ARGV[2] the stored form of the last of them. Returns {'tail', events after them} while the
# list still extends what the worker holds; else {snapshot or '', events after the snapshot}, or
# {'none', {}} for no conversation. One script, so a concurrent append cannot fall between reads.
# Indexes count from the tail: Redis walks a long list from the nearer end.
LOAD = """
local n = redis.call('LLEN', KEYS[1])
local known = tonumber(ARGV[1])
if known > 0 and n >= known and redis.call('LINDEX', KEYS[1], known - 1 - n) == ARGV[2] then
  if n == known then return {'tail', {}} end
  return {'tail', redis.call('LRANGE', KEYS[1], known - n, -1)}
end
if n == 0 then return {'none', {}} end
local snap = redis.call('GET', KEYS[2])
local seq = 0
if snap then
  seq = tonumber(string.match(snap, '^(%d+)'))
  if seq == nil or seq > n then
    snap = false
    seq = 0
  end
end
if seq == n then return {snap, {}} end
return {snap or '', redis.call('LRANGE', KEYS[1], seq - n, -1)}
"""


def client_options(
    host: str, port: int, db: int, username: str | None, password: str | None, use_ssl: bool, connect_timeout: float
) -> dict:
    """redis-py's connection settings (the tracker store and the lock store connect alike)."""
    return dict(
        host=host,
        port=port,
        db=db,
        username=username,
        password=password,
        ssl=use_ssl,
        socket_connect_timeout=connect_timeout,
    )


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

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        use_ssl: bool = False,
        key_prefix: str = DEFAULT_PREFIX,
        record_exp: float | None = None,
        connect_timeout: float = 5.0,
        cached_conversations: int = 10_000,
    ):
        self.host, self.port, self.db = host, port, db
        self.key_prefix = key_prefix
        self.record_exp = record_exp
        self._options = client_options(host, port, db, username, password, use_ssl, connect_timeout)
        self._redis = aioredis.Redis(**self._options)
        self._append = self._redis.register_script(APPEND)
        self._load = self._redis.register_script(LOAD)
        self._cache = TrackerCache(cached_conversations)

    def bus(self):
        return RedisBus(self._options, f"{self.key_prefix}handoff-news")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def key(self, sender_id: str) -> str:
        return self.key_prefix + sender_id

    def snapshot_key(self, sender_id: str) -> str:
        return SNAPSHOT_PREFIX + self.key_prefix + sender_id

    async def check(self) -> None:
        await ping(self._options)

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        return await self._read(sender_id, domain, self._cache.take(sender_id))

    async def peek(self, sender_id: str, domain: Domain) -> Tracker | None:
        return await self._read(sender_id, domain, None)

    async def _read(self, sender_id: str, domain: Domain, cached) -> Tracker | None:
        known = cached.tracker.event_count if cached else 0
        head, items = await self._load(
            keys=[self.key(sender_id), self.snapshot_key(sender_id)], args=[known, cached.last if cached else ""]
        )
        tail = events_from_dicts([json.loads(item) for item in items])
        if head == b"tail":
            cached.tracker.extend(tail)  # what other workers appended since this one saved
            return cached.tracker
        if head == b"none":
            return None
        if head:
            text = head.decode().split("\n", 1)[1]
            return self._bind(snapshot.decode(sender_id, domain, text, tail))
        return self._bind(Tracker(sender_id, domain, tail))

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        first = first_seq(tracker, new_events)
        ttl_ms = int(self.record_exp * 1000) if self.record_exp else 0
        saved = snapshot_for(tracker)
        items = [json.dumps(e.as_dict()) for e in new_events]
        found = await self._append(
            keys=[self.key(tracker.sender_id), self.snapshot_key(tracker.sender_id)],
            args=[first, ttl_ms, f"{tracker.event_count}\n{saved}" if saved else "", *items],
        )
        if found != -1:
            raise TrackerConflict(tracker.sender_id, first, found)
        if saved:
            tracker.snapshot_seq = tracker.event_count
        tracker.compact()
        if items:
            self._cache.put(self._bind(tracker), items[-1])

    async def events(self, sender_id: str, stop: int | None = None) -> list[Event]:
        if stop is not None and stop <= 0:
            return []
        items = await self._redis.lrange(self.key(sender_id), 0, -1 if stop is None else stop - 1)
        return events_from_dicts([json.loads(item) for item in items])

    async def sender_ids(self) -> list[str]:
        start = len(self.key_prefix)
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.key_prefix) + "*"  # the prefix matches literally
        return sorted([key.decode()[start:] async for key in self._redis.scan_iter(match=pattern)])

    async def close(self) -> None:
        await self._redis.aclose()
