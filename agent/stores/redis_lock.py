"""Turn order across workers: Rasa's `lock_store: {type: redis}` as a ticket lock.

Each conversation is one Redis hash, `{key_prefix}{sender_id}`:

    gen       a random id picked by whoever created the hash; every ticket carries it, so a ticket
              from before the hash was deleted or expired is never mistaken for a new one
    next      the last ticket handed out: a message takes `next + 1` when it arrives
    serving   the ticket whose turn it is ("now serving")
    deadline  Redis server time (ms) at which the ticket being served loses its turn
    gone:N    ticket N's owner gave up while waiting (cancelled): skipped at once

A message runs when `serving` reaches its ticket; releasing serves the next ticket. Every step is
one Lua script, atomic on the Redis server, and times come from the server's clock, so workers'
clocks need not agree.

A dead worker cannot block a conversation: the ticket being served has `lock_lifetime` seconds,
counted from when its turn came (or from when its owner took it), and a waiter that finds the
deadline passed serves the next ticket. That covers a holder that died mid-turn and a waiter that
died before its turn came: both are skipped `lock_lifetime` after their turn came. A turn still
running past its lifetime is overtaken the same way (logged at release), as with Rasa's lock.

When the last ticket is released the hash is deleted, and every script call sets the hash to
expire `2 * lock_lifetime + 1 s` later, so a conversation whose workers all died leaves nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from agent.stores.locks import ConversationLocks
from agent.stores.redis_store import client_options, ping

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "agent:lock:"
DEFAULT_LIFETIME = 60.0
POLL = 0.005  # seconds between checks for the next in line; further back waits longer
MAX_POLL = 0.05

_COMMON = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Serve the ticket after `serving`, passing tickets whose owners gave up; with nobody left in
-- line the hash goes (a later message starts a new generation).
local function advance(h, serving, now, life)
  serving = serving + 1
  while redis.call('HDEL', h, 'gone:' .. serving) == 1 do serving = serving + 1 end
  if serving > tonumber(redis.call('HGET', h, 'next')) then
    redis.call('DEL', h)
  else
    redis.call('HSET', h, 'serving', serving, 'deadline', now + life)
  end
  return serving
end
"""

# KEYS[1] the conversation; ARGV: a new generation id, lifetime ms, idle expiry ms.
# Returns {generation, ticket, 1 if its turn has come else 0}.
TAKE = (
    _COMMON
    + """
local h, life, ttl = KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local gen = redis.call('HGET', h, 'gen')
if not gen then
  gen = ARGV[1]
  redis.call('HSET', h, 'gen', gen, 'next', 0, 'serving', 1, 'deadline', 0)
end
local t = redis.call('HINCRBY', h, 'next', 1)
local now_serving = tonumber(redis.call('HGET', h, 'serving'))
local go = 0
if t == now_serving then
  redis.call('HSET', h, 'deadline', now + life)
  go = 1
end
redis.call('PEXPIRE', h, ttl)
return {gen, t, go}
"""
)

# KEYS[1] the conversation; ARGV: generation, ticket, lifetime ms, idle expiry ms.
# Returns {1, serving} when the ticket's turn has come (its lease starts now), {0, serving} to keep
# waiting, {-1, serving} when the ticket was passed over or its generation is gone (take a new one).
POLL_SCRIPT = (
    _COMMON
    + """
local h, t, life, ttl = KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('HGET', h, 'gen') ~= ARGV[1] then return {-1, 0} end
local now = now_ms()
local s = tonumber(redis.call('HGET', h, 'serving'))
if s < t and now >= tonumber(redis.call('HGET', h, 'deadline')) then
  s = advance(h, s, now, life)
end
redis.call('PEXPIRE', h, ttl)
if s == t then
  redis.call('HSET', h, 'deadline', now + life)
  return {1, s}
end
if s > t then return {-1, s} end
return {0, s}
"""
)

# KEYS[1] the conversation; ARGV: generation, ticket, lifetime ms, idle expiry ms.
# The holder releases (1), a waiter gives up its place (0); -1: the ticket had already been
# passed over (its lease ran out and another turn was let in) or its generation is gone.
LEAVE = (
    _COMMON
    + """
local h, t, life, ttl = KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('HGET', h, 'gen') ~= ARGV[1] then return -1 end
local s = tonumber(redis.call('HGET', h, 'serving'))
if s == t then
  advance(h, s, now_ms(), life)
  redis.call('PEXPIRE', h, ttl)
  return 1
end
if s < t then
  redis.call('HSET', h, 'gone:' .. t, 1)
  redis.call('PEXPIRE', h, ttl)
  return 0
end
return -1
"""
)


@dataclass(frozen=True)
class Ticket:
    sender_id: str
    generation: str
    number: int


class RedisLockStore:
    """One turn at a time per conversation, in the order the messages took tickets, across every
    process that uses the same Redis and key prefix.

    Inside one process tickets are taken in arrival order (a per-conversation asyncio lock around
    the ticket step), so two messages that reach the same worker keep their order too. The client
    binds its connections to the event loop that first uses it (the server's)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        use_ssl: bool = False,
        key_prefix: str = DEFAULT_PREFIX,
        lock_lifetime: float = DEFAULT_LIFETIME,
        poll: float = POLL,
        connect_timeout: float = 5.0,
    ):
        if lock_lifetime <= 0:
            raise ValueError("lock_lifetime must be above 0 seconds")
        self.host, self.port, self.db = host, port, db
        self.key_prefix = key_prefix
        self.lock_lifetime = lock_lifetime
        self.poll = poll
        self._life_ms = max(1, int(lock_lifetime * 1000))
        self._ttl_ms = 2 * self._life_ms + 1000
        self._options = client_options(host, port, db, username, password, use_ssl, connect_timeout)
        self._redis = aioredis.Redis(**self._options)
        self._take_script = self._redis.register_script(TAKE)
        self._poll_script = self._redis.register_script(POLL_SCRIPT)
        self._leave_script = self._redis.register_script(LEAVE)
        self._arrivals = ConversationLocks()  # this process's messages take tickets in arrival order
        self._background: set[asyncio.Future] = set()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def key(self, sender_id: str) -> str:
        return self.key_prefix + sender_id

    async def check(self) -> None:
        await ping(self._options)

    @asynccontextmanager
    async def hold(self, sender_id: str):
        """`async with locks.hold(sender_id) as ticket:` runs the block when the ticket's turn comes."""
        ticket = await self.acquire(sender_id)
        try:
            yield ticket
        finally:
            # finishes even if the caller is cancelled; a Redis error is logged, not raised over the
            # turn's own outcome (the lease then runs out by itself)
            await asyncio.shield(self._spawn(self._leave_logged(ticket)))

    async def acquire(self, sender_id: str) -> Ticket:
        """Take a ticket and wait for its turn. Cancelled (or failing) while waiting, the ticket is
        given up, so the next in line need not wait out its lifetime."""
        key = self.key(sender_id)
        while True:
            ticket, step = None, None
            try:
                async with self._arrivals.hold(sender_id):
                    step = self._command(self._take_script, key, uuid.uuid4().hex, self._life_ms, self._ttl_ms)
                    generation, number, go = await asyncio.shield(step)
                ticket, step = Ticket(sender_id, generation.decode(), int(number)), None
                if go:
                    return ticket
                while True:
                    step = self._command(
                        self._poll_script, key, ticket.generation, ticket.number, self._life_ms, self._ttl_ms
                    )
                    status, serving = await asyncio.shield(step)
                    step = None
                    if status == 1:
                        return ticket
                    if status == -1:
                        log.warning(
                            "conversation %r: ticket %d was passed over while waiting (no check for "
                            "lock_lifetime %gs); taking a new one",
                            sender_id,
                            ticket.number,
                            self.lock_lifetime,
                        )
                        break
                    await asyncio.sleep(min(self.poll * max(1, ticket.number - int(serving)), MAX_POLL))
            except BaseException:
                await asyncio.shield(self._spawn(self._give_up(sender_id, ticket, step)))
                raise

    async def release(self, ticket: Ticket) -> bool:
        """Serve the next ticket. False when this turn had outlived its lease and been overtaken."""
        return self._released(ticket, await asyncio.shield(self._spawn(self._leave(ticket))))

    def _released(self, ticket: Ticket, outcome: int | None) -> bool:
        if outcome == -1:
            log.warning(
                "conversation %r: the turn held its lock longer than lock_lifetime (%gs); a later turn "
                "was let in before it finished",
                ticket.sender_id,
                self.lock_lifetime,
            )
        return outcome != -1

    def _command(self, script, key: str, *args) -> asyncio.Task:
        """A script call in a task of its own, for the caller to await shielded: a cancelled caller
        stops waiting at once and the command still completes. (redis-py can swallow a cancellation
        that lands mid-command, redis/redis-py#2028; and the outcome must be known to give up.)"""
        return self._spawn(script(keys=[key], args=list(args)))

    async def _give_up(self, sender_id: str, ticket: Ticket | None, step: asyncio.Future | None) -> None:
        """Leave the line after a wait ended early, once the command in flight has landed (it may
        have just taken a ticket or been let in)."""
        if step is not None:
            try:
                outcome = await step
            except (Exception, asyncio.CancelledError):  # the caller hears of the failure itself
                outcome = None
            if ticket is None and outcome is not None:
                generation, number, _ = outcome
                ticket = Ticket(sender_id, generation.decode(), int(number))
        if ticket is not None:
            await self._leave_logged(ticket, held=False)

    async def _leave(self, ticket: Ticket) -> int:
        return int(
            await self._leave_script(
                keys=[self.key(ticket.sender_id)], args=[ticket.generation, ticket.number, self._life_ms, self._ttl_ms]
            )
        )

    async def _leave_logged(self, ticket: Ticket, held: bool = True) -> None:
        try:
            outcome = await self._leave(ticket)
            if held:
                self._released(ticket, outcome)
        except (RedisError, OSError) as exc:
            log.error(
                "conversation %r: could not release lock ticket %d in Redis at %s (%s); the next turn "
                "waits up to lock_lifetime (%gs)",
                ticket.sender_id,
                ticket.number,
                self.address,
                exc,
                self.lock_lifetime,
            )

    def _spawn(self, coro) -> asyncio.Task:
        """A task kept referenced until it finishes, so a shielded step outlives a cancelled caller."""
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        if self._background:  # releases still on their way
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._redis.aclose()
