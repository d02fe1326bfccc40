"""Lock stores: one turn at a time per conversation, in arrival order, across workers sharing Redis.

Redis is expected at 127.0.0.1:6379; each test uses a key prefix of its own. When Redis is down
the tests that need it skip (start Redis there to run them), except under CI=true where they fail."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.bot.endpoints import Endpoints, load_endpoints
from agent.core.processor import TurnResult, UserMessage
from agent.errors import AgentError
from agent.server.runner import AgentRunner
from agent.stores.base import InMemoryTrackerStore
from agent.stores.factory import build_lock_store
from agent.stores.locks import ConversationLocks
from agent.stores.redis_lock import RedisLockStore
from tests.test_tracker_stores import REDIS, _drop_redis_keys, require_service


@pytest.fixture()
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, removed afterwards."""
    require_service("redis")
    unique = f"agent-lock-test:{uuid.uuid4().hex[:12]}:"
    yield unique
    _drop_redis_keys(unique)


def redis_keys(prefix: str) -> list[bytes]:
    import redis

    client = redis.Redis(*REDIS)
    try:
        return list(client.scan_iter(match=prefix + "*"))
    finally:
        client.close()


def pttl(key: str) -> int:
    import redis

    client = redis.Redis(*REDIS)
    try:
        return client.pttl(key)
    finally:
        client.close()


def workers(prefix: str, n: int = 2, **options) -> list[RedisLockStore]:
    """Lock objects on one shared prefix, as separate `agent run` workers would have."""
    return [RedisLockStore(*REDIS, key_prefix=prefix, **options) for _ in range(n)]


async def close(*stores) -> None:
    for store in stores:
        await store.close()


def test_two_workers_never_overlap_and_turns_enter_in_ticket_order(prefix):
    async def go():
        stores = workers(prefix)
        active, peak, entered = 0, 0, []

        async def turn(i: int):
            nonlocal active, peak
            async with stores[i % 2].hold("conv") as ticket:
                active += 1
                peak = max(peak, active)
                entered.append((ticket.number, i))
                await asyncio.sleep(0.002)  # a turn that yields, so an overlap would show
                active -= 1

        try:
            await asyncio.gather(*(turn(i) for i in range(50)))
        finally:
            await close(*stores)
        return peak, entered

    peak, entered = asyncio.run(go())
    numbers = [number for number, _ in entered]
    assert peak == 1
    assert numbers == list(range(1, 51))  # every ticket served, in the order the tickets were taken
    for worker in (0, 1):  # within one worker, messages take tickets in the order they arrived
        arrivals = [i for _, i in entered if i % 2 == worker]
        assert arrivals == sorted(arrivals)
    assert redis_keys(prefix) == []  # the last release leaves nothing behind


WORKER = """
import asyncio, sys
import redis.asyncio as aioredis
from agent.stores.redis_lock import RedisLockStore

async def main(prefix, name):
    locks, probe = RedisLockStore("127.0.0.1", 6379, key_prefix=prefix), aioredis.Redis()
    await probe.incr(prefix + "probe:ready")
    while int(await probe.get(prefix + "probe:ready")) < 2:  # both workers start together
        await asyncio.sleep(0.001)

    async def turn(i):
        async with locks.hold("conv") as ticket:
            if await probe.incr(prefix + "probe:active") != 1:
                await probe.rpush(prefix + "probe:overlaps", name)
            await probe.rpush(prefix + "probe:entered", f"{name} {ticket.generation} {ticket.number}")
            await asyncio.sleep(0.002)
            await probe.decr(prefix + "probe:active")
    await asyncio.gather(*(turn(i) for i in range(15)))
    await locks.close()
    await probe.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_two_worker_processes_take_turns_in_ticket_order(prefix):
    import redis

    repo = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, prefix, name], cwd=repo) for name in ("a", "b")]
    client = redis.Redis(*REDIS)
    try:
        codes = [proc.wait(timeout=60) for proc in procs]
        entered = [n.decode().split() for n in client.lrange(prefix + "probe:entered", 0, -1)]
        overlaps = client.lrange(prefix + "probe:overlaps", 0, -1)
    finally:
        client.close()
        for proc in procs:
            proc.kill()
    assert codes == [0, 0]
    assert overlaps == []
    assert sorted(name for name, _, _ in entered) == ["a"] * 15 + ["b"] * 15
    # tickets were served 1, 2, 3, ... (a new generation starts at 1 whenever the line ran empty)
    generations = [g for i, (_, g, _) in enumerate(entered) if i == 0 or g != entered[i - 1][1]]
    assert len(generations) == len(set(generations))
    for generation in generations:
        assert [int(n) for _, g, n in entered if g == generation] == list(
            range(1, 1 + sum(g == generation for _, g, _ in entered))
        )


def test_conversations_do_not_block_each_other(prefix):
    async def go():
        first, second = workers(prefix)
        try:
            async with first.hold("a"):
                started = time.monotonic()
                async with second.hold("b"):
                    other = time.monotonic() - started
                with pytest.raises(asyncio.TimeoutError):  # the same conversation waits
                    await asyncio.wait_for(second.acquire("a"), 0.3)
            # the waiter that gave up left the line: the next message need not wait out its lease
            started = time.monotonic()
            async with second.hold("a"):
                after = time.monotonic() - started
        finally:
            await close(first, second)
        return other, after

    other, after = asyncio.run(go())
    assert other < 0.5
    assert after < 0.5


def test_cancelled_waiters_stop_at_once_and_leave_the_line(prefix):
    """A cancel may land mid-command (redis-py can swallow those): the waiter must still stop at
    once, and its ticket must not hold up the next message."""

    async def go():
        first, second = workers(prefix)
        slowest = 0.0
        try:
            async with first.hold("conv"):
                for i in range(60):
                    started = time.monotonic()
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(second.acquire("conv"), 0.01 + i * 0.001)
                    slowest = max(slowest, time.monotonic() - started)
            started = time.monotonic()
            async with second.hold("conv") as ticket:
                waited = time.monotonic() - started
        finally:
            await close(first, second)
        return slowest, waited, ticket.number

    slowest, waited, number = asyncio.run(go())
    assert slowest < 0.5
    assert waited < 0.5 and number == 1  # every abandoned ticket was passed over; the hash started afresh
    assert redis_keys(prefix) == []


def test_a_holder_that_died_is_skipped_after_the_lifetime(prefix):
    async def go():
        dead, live = workers(prefix, lock_lifetime=0.5)
        await dead.acquire("conv")  # took the lock, then its worker died: never released
        await dead.close()
        started = time.monotonic()
        try:
            async with live.hold("conv"):
                waited = time.monotonic() - started
        finally:
            await live.close()
        return waited

    waited = asyncio.run(go())
    assert 0.35 <= waited < 1.5


def test_a_waiter_that_died_is_skipped_after_the_lifetime(prefix):
    async def go():
        holder, dead, live = workers(prefix, 3, lock_lifetime=0.5)
        first = await holder.acquire("conv")
        _, lost, _ = await dead._take_script(keys=[dead.key("conv")], args=["x", 500, 2000])
        # took a ticket, then died before its turn came
        await dead.close()
        entering = asyncio.ensure_future(live.acquire("conv"))
        await asyncio.sleep(0.1)
        assert not entering.done()
        await holder.release(first)
        released = time.monotonic()
        try:
            ticket = await asyncio.wait_for(entering, 5)
            waited = time.monotonic() - released
            await live.release(ticket)
        finally:
            await close(holder, live)
        return lost, ticket.number, waited

    lost, entered, waited = asyncio.run(go())
    assert (lost, entered) == (2, 3)
    assert 0.35 <= waited < 1.5


def test_a_turn_that_outlives_its_lease_learns_it_at_release(prefix):
    async def go():
        slow, other = workers(prefix, lock_lifetime=0.2)
        try:
            ticket = await slow.acquire("conv")
            async with other.hold("conv"):  # let in once the slow turn's lease ran out
                pass
            return await slow.release(ticket)
        finally:
            await close(slow, other)

    assert asyncio.run(go()) is False


def test_keys_of_abandoned_conversations_expire_by_themselves(prefix):
    async def go():
        dead = RedisLockStore(*REDIS, key_prefix=prefix, lock_lifetime=0.1)
        await dead.acquire("conv")
        await dead.close()

    asyncio.run(go())
    assert 0 < pttl(prefix + "conv") <= 2 * 100 + 1000
    deadline = time.monotonic() + 3
    while redis_keys(prefix) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert redis_keys(prefix) == []


class _Processor:
    """Stands in for the dialogue engine: records when each turn runs."""

    def __init__(self, log: list, active: list[int]):
        self.store = InMemoryTrackerStore()
        self.parse = None
        self.log, self.active = log, active

    async def handle_message(self, message) -> TurnResult:
        self.active[0] += 1
        self.log.append((message.text, self.active[0]))
        await asyncio.sleep(0.003)
        self.active[0] -= 1
        return TurnResult(messages=[], events=[])


def test_runners_on_two_workers_take_one_conversations_turns_one_at_a_time(prefix):
    log, active = [], [0]

    def runner(locks) -> AgentRunner:
        interpreter = SimpleNamespace(
            parse_batch=lambda texts, previous: [{} for _ in texts], shortcut=lambda text: None
        )
        return AgentRunner(SimpleNamespace(interpreter=interpreter, processor=_Processor(log, active)), locks=locks)

    async def go():
        runners = [runner(locks) for locks in workers(prefix)]
        try:
            await asyncio.gather(*(runners[i % 2].submit(UserMessage(f"m{i}", "conv", "rest")) for i in range(20)))
        finally:
            for r in runners:
                await r.close()

    asyncio.run(go())
    assert len(log) == 20 and all(depth == 1 for _, depth in log)
    for worker in (0, 1):  # each worker's messages ran in their arrival order
        seen = [int(text[1:]) for text, _ in log if int(text[1:]) % 2 == worker]
        assert seen == sorted(seen)


def test_endpoints_yml_builds_the_redis_lock_store(prefix, tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text(
        f"tracker_store:\n  type: redis\n  url: {REDIS[0]}\n  key_prefix: '{prefix}tracker:'\n"
        f"lock_store:\n  type: redis\n  url: {REDIS[0]}\n  port: {REDIS[1]}\n  db: 0\n"
        f"  key_prefix: '{prefix}lock:'\n  lock_lifetime: 2.5\n"
    )
    locks, where = build_lock_store(load_endpoints(path))

    async def go():
        try:
            async with locks.hold("conv"):
                return redis_keys(prefix)
        finally:
            await locks.close()

    held = asyncio.run(go())
    assert isinstance(locks, RedisLockStore)
    assert (locks.address, locks.db, locks.key_prefix, locks.lock_lifetime) == (
        f"{REDIS[0]}:{REDIS[1]}",
        0,
        prefix + "lock:",
        2.5,
    )
    assert "Redis" in where and prefix in where
    assert held == [(prefix + "lock:conv").encode()]
    assert redis_keys(prefix) == []


def test_the_lock_store_is_in_memory_unless_endpoints_yml_says_otherwise(tmp_path):
    locks, where = build_lock_store(Endpoints())
    assert isinstance(locks, ConversationLocks) and "per process" in where
    path = tmp_path / "endpoints.yml"
    path.write_text("lock_store:\n  type: in_memory\n")
    assert isinstance(build_lock_store(load_endpoints(path))[0], ConversationLocks)


@pytest.mark.parametrize(
    "yaml, key, line",
    [
        ("lock_store:\n  type: redis\n  port: six\n", "port", 3),
        ("lock_store:\n  type: redis\n  url: localhost\n  lock_lifetime: -5\n", "lock_lifetime", 4),
        ("lock_store:\n  type: redis\n  lock_lifetime: soon\n", "lock_lifetime", 3),
        ("lock_store:\n  type: redis\n  db: -1\n", "db", 3),
        ("lock_store:\n  type: redis\n  use_ssl: maybe\n", "use_ssl", 3),
        ("lock_store:\n  type: redis\n  url: redis://localhost:6379\n", "url", 3),
        ("action_endpoint:\n  url: http://x\nlock_store:\n  type: zookeeper\n", "type", 4),
        # both stores in one Redis database with one prefix: lock keys would land on conversations
        (
            "tracker_store:\n  type: redis\n  key_prefix: 'bot:'\nlock_store:\n  type: redis\n  key_prefix: 'bot:'\n",
            "key_prefix",
            6,
        ),
        ("tracker_store:\n  type: redis\nlock_store:\n  type: redis\n  key_prefix: 'agent:'\n", "key_prefix", 5),
    ],
)
def test_bad_lock_store_settings_name_their_line_and_key(tmp_path, yaml, key, line):
    path = tmp_path / "endpoints.yml"
    path.write_text(yaml)
    with pytest.raises(AgentError) as err:
        build_lock_store(load_endpoints(path))
    assert f"{path}:{line}: lock_store {key}" in str(err.value)


def test_a_lock_store_that_is_not_a_mapping_is_a_file_error(tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: in_memory\nlock_store: redis\n")
    with pytest.raises(AgentError) as err:
        load_endpoints(path)
    assert f"{path}:3" in str(err.value) and "lock_store must be a mapping" in str(err.value)


def test_an_unreachable_lock_redis_is_an_agent_error_naming_the_file(tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: in_memory\nlock_store:\n  type: redis\n  url: 127.0.0.1\n  port: 1\n")
    started = time.monotonic()
    with pytest.raises(AgentError) as err:
        build_lock_store(load_endpoints(path))
    message = str(err.value)
    assert f"{path}:3: lock_store: cannot use Redis at 127.0.0.1:1" in message
    assert "hint:" in message and "leave lock_store out" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert time.monotonic() - started < 5


def test_agent_run_reports_an_unreachable_lock_store_without_a_traceback(tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: in_memory\nlock_store:\n  type: redis\n  url: 127.0.0.1\n  port: 1\n")
    # the stores are built before the model loads, so the model path is never opened
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--model", str(tmp_path / "never.tar.gz"), "--endpoints", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "endpoints.yml:3" in proc.stderr and "lock_store" in proc.stderr and "127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
