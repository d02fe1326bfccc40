"""One contract for every durable tracker store: the same tests run on SQLite, Redis and PostgreSQL.

Redis and PostgreSQL are expected at 127.0.0.1:6379 and 127.0.0.1:5432 (trust auth, user postgres,
database `test`). When one is down its tests skip, except under CI=true where they fail."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from agent.bot.domain import Domain
from agent.bot.endpoints import load_endpoints
from agent.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from agent.core.tracker import Tracker
from agent.errors import AgentError
from agent.stores.base import TrackerConflict, TrackerStore
from agent.stores.factory import build_store

REDIS = ("127.0.0.1", 6379)
POSTGRES = ("127.0.0.1", 5432)
POSTGRES_LOGIN = dict(user="postgres", database="test")
DOMAIN = Domain()
SERVICES = {"redis": ("Redis", REDIS), "postgres": ("PostgreSQL", POSTGRES)}


def require_service(kind: str) -> None:
    """Skip when the store's server is down, saying how to enable it; under CI=true fail instead,
    so a CI job whose service did not start cannot pass by skipping the tests that need it."""
    if kind not in SERVICES:
        return
    name, (host, port) = SERVICES[kind]
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc}); start {name} there to run the {kind} store tests"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@dataclass
class Backend:
    """Opens stores on one shared place (a file, a key prefix, a table): a second store is a restart
    or another worker."""

    kind: str
    make: Callable[..., TrackerStore]

    @asynccontextmanager
    async def open(self, **options) -> AsyncIterator[TrackerStore]:
        store = self.make(**options)
        try:
            yield store
        finally:
            await store.close()


def _drop_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis(host=REDIS[0], port=REDIS[1])
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _postgres(sql: str, *args) -> None:
    import asyncpg

    async def go():
        conn = await asyncpg.connect(host=POSTGRES[0], port=POSTGRES[1], **POSTGRES_LOGIN)
        try:
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    asyncio.run(go())


def open_backend(kind: str, tmp_path) -> Iterator[Backend]:
    """A place of its own for one test, removed afterwards, so runs never see each other's data."""
    require_service(kind)
    unique = uuid.uuid4().hex[:12]
    if kind == "sqlite":
        from agent.stores.sqlite_store import SQLiteTrackerStore

        yield Backend(kind, lambda **kw: SQLiteTrackerStore(tmp_path / "conversations.db", **kw))
    elif kind == "redis":
        from agent.stores.redis_store import RedisTrackerStore

        prefix = f"agent-test:{unique}:"
        yield Backend(kind, lambda **kw: RedisTrackerStore(*REDIS, key_prefix=prefix, **kw))
        _drop_redis_keys(prefix)
    else:
        from agent.stores.postgres_store import PostgresTrackerStore

        table = f"events_test_{unique}"
        yield Backend(kind, lambda **kw: PostgresTrackerStore(*POSTGRES, **POSTGRES_LOGIN, table=table, **kw))
        _postgres(f"DROP TABLE IF EXISTS {table}, {table}_snapshots")


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def backend(request, tmp_path) -> Iterator[Backend]:
    yield from open_backend(request.param, tmp_path)


@pytest.fixture()
def redis_backend(tmp_path) -> Iterator[Backend]:
    yield from open_backend("redis", tmp_path)


def new_sender() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def turns() -> list[list[Event]]:
    """Three turns touching every kind of value an event carries (nested JSON, unicode, a NUL byte)."""
    return [
        [
            SessionStarted(),
            ActionExecuted(name="action_listen"),
            UserUttered(
                text="hello",
                parse_data={"intent": {"name": "greet", "confidence": 0.93}, "entities": []},
                input_channel="rest",
                message_id="m1",
                metadata={"trace": [1, None, "x"]},
            ),
            BotUttered(text="Hello! How can I help?", data={"buttons": [{"title": "Order", "payload": "/order"}]}),
        ],
        [
            UserUttered(
                text="où est ORD-7 ✓ \x00",
                parse_data={
                    "intent": {"name": "order_status", "confidence": 1.0},
                    "entities": [{"entity": "order_id", "value": "ORD-7"}],
                },
            ),
            SlotSet(name="order_id", value="ORD-7"),
            ActiveLoop(name="order_form"),
            ActionExecuted(name="action_listen", policy="RulePolicy", confidence=1.0),
        ],
        [
            SlotSet(name="cart", value={"items": [1, 2.5, None], "gift": True}),
            ActiveLoop(name=None),
            ActionExecuted(name="action_listen"),
        ],
    ]


async def take_turn(store: TrackerStore, sender: str, events: list[Event]) -> Tracker:
    """What the processor does: read the conversation, append the turn, save only the new events."""
    tracker = await store.get_or_create(sender, DOMAIN)
    tracker.extend(events)
    await store.save(tracker, events)
    return tracker


def dicts(events: list[Event]) -> list[dict]:
    return [e.as_dict() for e in events]


def test_a_new_conversation_is_none(backend):
    async def go():
        async with backend.open() as store:
            return await store.retrieve(new_sender(), DOMAIN)

    assert asyncio.run(go()) is None


def test_turns_come_back_equal_and_in_order(backend):
    sender, saved = new_sender(), turns()

    async def go():
        async with backend.open() as store:
            for events in saved:
                await take_turn(store, sender, events)
            return await store.retrieve(sender, DOMAIN)

    tracker = asyncio.run(go())
    assert dicts(tracker.events) == dicts([e for turn in saved for e in turn])
    assert tracker.slots["order_id"] == "ORD-7" and tracker.slots["cart"]["gift"] is True


def test_another_store_instance_sees_the_saved_turns(backend):
    sender, saved = new_sender(), turns()

    async def go():
        async with backend.open() as first:
            await take_turn(first, sender, saved[0])
        async with backend.open() as restarted, backend.open() as other_worker:
            seen = await restarted.retrieve(sender, DOMAIN)
            await take_turn(restarted, sender, saved[1])
            await take_turn(other_worker, sender, saved[2])
        async with backend.open() as last:
            return seen, await last.retrieve(sender, DOMAIN)

    seen, final = asyncio.run(go())
    assert dicts(seen.events) == dicts(saved[0])
    assert dicts(final.events) == dicts([e for turn in saved for e in turn])


def test_conversations_stay_separate(backend):
    alice, bob = new_sender(), new_sender()
    a_turns, b_turns = turns(), turns()

    async def go():
        async with backend.open() as store:
            await take_turn(store, alice, a_turns[0])
            await take_turn(store, bob, b_turns[0])
            await take_turn(store, alice, a_turns[1])
            return await store.retrieve(alice, DOMAIN), await store.retrieve(bob, DOMAIN)

    a, b = asyncio.run(go())
    assert dicts(a.events) == dicts(a_turns[0] + a_turns[1])
    assert dicts(b.events) == dicts(b_turns[0])


def test_a_conflicting_append_raises_instead_of_interleaving(backend):
    sender, saved = new_sender(), turns()
    mine, theirs = [SlotSet(name="winner", value="mine")], [SlotSet(name="winner", value="theirs"), SlotSet(name="x")]

    async def go():
        async with backend.open() as setup:
            await take_turn(setup, sender, saved[0])
        async with backend.open() as one, backend.open() as two:
            first, second = await one.retrieve(sender, DOMAIN), await two.retrieve(sender, DOMAIN)
            first.extend(mine)
            second.extend(theirs)
            await one.save(first, mine)
            with pytest.raises(TrackerConflict) as err:
                await two.save(second, theirs)
            stored = await two.retrieve(sender, DOMAIN)
            retried = await take_turn(two, sender, theirs)  # the loser reloads and goes on
        async with backend.open() as check:
            return err.value, stored, retried, await check.retrieve(sender, DOMAIN)

    conflict, stored, retried, final = asyncio.run(go())
    assert conflict.sender_id == sender and conflict.first_seq == len(saved[0]) and sender in str(conflict)
    assert dicts(stored.events) == dicts(saved[0] + mine)
    assert dicts(final.events) == dicts(saved[0] + mine + theirs) == dicts(retried.events)


def test_of_concurrent_writers_exactly_one_wins(backend):
    sender, saved = new_sender(), turns()
    writers = 5

    async def go():
        async with backend.open() as setup:
            await take_turn(setup, sender, saved[0])
        stores = [backend.make() for _ in range(writers)]
        try:
            trackers = [await s.retrieve(sender, DOMAIN) for s in stores]
            attempts = []
            for k, (store, tracker) in enumerate(zip(stores, trackers)):
                events = [SlotSet(name="writer", value=k), ActionExecuted(name="action_listen")]
                tracker.extend(events)
                attempts.append(store.save(tracker, events))
            results = await asyncio.gather(*attempts, return_exceptions=True)
            return results, trackers, await stores[0].retrieve(sender, DOMAIN)
        finally:
            for s in stores:
                await s.close()

    results, trackers, final = asyncio.run(go())
    winners = [k for k, r in enumerate(results) if r is None]
    assert len(winners) == 1, results
    assert all(isinstance(r, TrackerConflict) for k, r in enumerate(results) if k != winners[0])
    assert dicts(final.events) == dicts(trackers[winners[0]].events)


def test_redis_record_exp_expires_a_conversation_and_each_save_refreshes_it(redis_backend):
    sender, saved = new_sender(), turns()

    async def go():
        async with redis_backend.open(record_exp=1) as store:
            await take_turn(store, sender, saved[0])
            await asyncio.sleep(0.6)
            await take_turn(store, sender, saved[1])
            await asyncio.sleep(0.6)  # 1.2 s after the first save, 0.6 s after the last one
            kept = await store.retrieve(sender, DOMAIN)
            await asyncio.sleep(0.6)
            return kept, await store.retrieve(sender, DOMAIN)

    kept, expired = asyncio.run(go())
    assert kept is not None and len(kept.events) == len(saved[0]) + len(saved[1])
    assert expired is None


ENDPOINTS = {
    "redis": "tracker_store:\n  type: redis\n  url: {host}\n  port: {port}\n  db: 0\n  key_prefix: '{unique}'\n",
    "postgres": "tracker_store:\n  type: sql\n  dialect: postgresql\n  url: {host}\n  port: {port}\n"
    "  db: test\n  username: postgres\n",
}


def test_build_store_picks_each_store_from_endpoints_yml(backend, tmp_path):
    from agent.stores.postgres_store import PostgresTrackerStore
    from agent.stores.redis_store import RedisTrackerStore
    from agent.stores.sqlite_store import SQLiteTrackerStore

    unique, sender = f"agent-test:{uuid.uuid4().hex[:12]}:", new_sender()
    path = tmp_path / "endpoints.yml"
    if backend.kind == "sqlite":
        path.write_text(f"tracker_store:\n  type: sql\n  dialect: sqlite\n  db: {tmp_path / 'built.db'}\n")
    else:
        host, port = SERVICES[backend.kind][1]
        path.write_text(ENDPOINTS[backend.kind].format(host=host, port=port, unique=unique))
    store, where = build_store(load_endpoints(path))
    expected = {"sqlite": SQLiteTrackerStore, "redis": RedisTrackerStore, "postgres": PostgresTrackerStore}

    async def go():
        try:
            tracker = await take_turn(store, sender, turns()[0])
            return tracker, await store.retrieve(sender, DOMAIN)
        finally:
            await store.close()

    try:
        tracker, again = asyncio.run(go())
    finally:
        if backend.kind == "redis":
            _drop_redis_keys(unique)
        elif backend.kind == "postgres":
            _postgres("DELETE FROM events WHERE sender_id = $1", sender)
    assert type(store) is expected[backend.kind]
    assert {"sqlite": "SQLite", "redis": "Redis", "postgres": "PostgreSQL"}[backend.kind] in where
    assert dicts(again.events) == dicts(tracker.events)


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_an_unreachable_server_is_an_agent_error_naming_the_file(kind, tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "action_endpoint:\n  url: http://localhost:5055/webhook\n"
        + ENDPOINTS[kind].format(host="127.0.0.1", port=1, unique="x:")
    )
    started = time.monotonic()
    with pytest.raises(AgentError) as err:
        build_store(load_endpoints(path))
    message = str(err.value)
    assert f"{path}:3" in message and "127.0.0.1:1" in message
    assert "start " in message and "hint:" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained driver traceback
    assert time.monotonic() - started < 5  # a refused connection is not retried with backoff


def test_agent_run_reports_an_unreachable_store_without_a_traceback(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "endpoints.yml"
    path.write_text(ENDPOINTS["redis"].format(host="127.0.0.1", port=1, unique="x:"))
    # the store is built before the model loads, so the model path is never opened
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--model", str(tmp_path / "never.tar.gz"), "--endpoints", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "endpoints.yml:1" in proc.stderr and "127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    "yaml, key, line",
    [
        ("tracker_store:\n  type: redis\n  port: six\n", "port", 3),
        ("tracker_store:\n  type: redis\n  url: localhost\n  record_exp: -5\n", "record_exp", 4),
        ("tracker_store:\n  type: redis\n  use_ssl: maybe\n", "use_ssl", 3),
        ("tracker_store:\n  type: sql\n  dialect: postgresql\n  url: postgres://db:5432\n", "url", 4),
        ("tracker_store:\n  type: sql\n  dialect: mysql\n", "dialect", 3),
        ("tracker_store:\n  type: mongod\n", "type", 2),
    ],
)
def test_bad_store_settings_name_their_line_and_key(tmp_path, yaml, key, line):
    path = tmp_path / "endpoints.yml"
    path.write_text(yaml)
    with pytest.raises(AgentError) as err:
        build_store(load_endpoints(path))
    assert f"{path}:{line}: tracker_store {key}" in str(err.value)


def test_service_rule_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setitem(SERVICES, "nowhere", ("Nowhere", ("127.0.0.1", 1)))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="start Nowhere there"):
        require_service("nowhere")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: Nowhere is not reachable at 127.0.0.1:1"):
        require_service("nowhere")


def long_turn(n: int) -> list[Event]:
    return [
        UserUttered(text=f"message {n}", parse_data={"intent": {"name": "greet", "confidence": 0.9}, "entities": []}),
        SlotSet(name="turn", value=n),
        ActionExecuted(name="utter_greet"),
        BotUttered(text=f"reply {n}"),
        ActionExecuted(name="action_listen"),
    ]


def test_a_long_conversation_loads_from_a_snapshot_plus_a_short_tail(backend):
    from agent.core.tracker import KEEP_EVENTS
    from agent.stores.snapshot import SNAPSHOT_EVERY

    sender, saved = new_sender(), [long_turn(n) for n in range(130)]  # 650 events: six snapshots
    everything = [e for t in saved for e in t]

    async def go():
        async with backend.open() as store:
            for events in saved:
                live = await take_turn(store, sender, events)
        async with backend.open() as fresh:  # a restart, or a worker that never saw this conversation
            loaded = await fresh.retrieve(sender, DOMAIN)
            return live, loaded, await fresh.events(sender), await loaded.history(), await fresh.events(sender, 7)

    live, loaded, stored, history, first_seven = asyncio.run(go())
    replayed = Tracker(sender, DOMAIN, everything)
    assert loaded.snapshot_seq == 600 and loaded.offset > 0
    assert len(loaded.events) <= KEEP_EVENTS + SNAPSHOT_EVERY  # a snapshot and a tail, not 650 events
    assert loaded.event_count == live.event_count == len(everything)
    assert loaded.slots == replayed.slots and loaded.slots["turn"] == 129
    assert loaded.state.turns.items[-20:] == replayed.state.turns.items[-20:]
    assert loaded.state.turns.count == replayed.state.turns.count
    assert dicts(loaded.events) == dicts(everything[-len(loaded.events) :])
    assert dicts(stored) == dicts(history) == dicts(everything)
    assert dicts(first_seven) == dicts(everything[:7])
    assert len(live.events) <= 2 * KEEP_EVENTS  # the served tracker is compacted too


def test_workers_taking_turns_in_turn_each_see_the_others_events(backend):
    """Each worker keeps the conversations it served; its next turn must still start from the
    turns other workers saved meanwhile (and from a reload when the cache cannot be trusted)."""
    sender = new_sender()

    async def go():
        async with backend.open() as one, backend.open() as two:
            seen = []
            for n in range(12):
                store = (one, two)[n % 2]
                tracker = await store.get_or_create(sender, DOMAIN)
                seen.append(tracker.slots.get("turn"))
                events = long_turn(n)
                tracker.extend(events)
                await store.save(tracker, events)
            return seen, await one.events(sender)

    seen, stored = asyncio.run(go())
    assert seen == [None, *range(11)]
    assert dicts(stored) == dicts([e for n in range(12) for e in long_turn(n)]) or [
        d["text"] for d in dicts(stored) if d["event"] == "user"
    ] == [f"message {n}" for n in range(12)]


def test_a_redis_worker_notices_its_cached_conversation_was_replaced(redis_backend):
    import redis

    sender = new_sender()

    async def go():
        async with redis_backend.open() as one, redis_backend.open() as two:
            await take_turn(one, sender, long_turn(0))
            client = redis.Redis(host=REDIS[0], port=REDIS[1])
            client.delete(one.key(sender))  # expired, or deleted by an operator
            client.close()
            for n in range(100, 103):  # another worker starts over, longer than what `one` holds
                await take_turn(two, sender, long_turn(n))
            return await one.retrieve(sender, DOMAIN)

    tracker = asyncio.run(go())
    assert tracker.slots["turn"] == 102 and tracker.event_count == 15


def test_per_turn_work_does_not_grow_with_the_conversation(backend, monkeypatch):
    """Turn 1,000 of a conversation reads and replays no more than a bounded number of events,
    warm (the worker that served the last turn) and cold (a worker that never saw it); a store
    without snapshots would read and replay all 5,000. Counted, not timed: machines are noisy."""
    import agent.core.events as events_module
    import agent.core.tracker as tracker_module
    import agent.stores.snapshot as snapshot_module
    from agent.core.tracker import KEEP_APPLIED, KEEP_EVENTS
    from agent.stores.snapshot import SNAPSHOT_EVERY

    counts = {"decoded": 0, "applied": 0}

    def counting(name, original):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        return wrapper

    decode = counting("decoded", events_module.event_from_dict)
    monkeypatch.setattr(events_module, "event_from_dict", decode)
    monkeypatch.setattr(snapshot_module, "event_from_dict", decode)
    monkeypatch.setattr(tracker_module, "apply_event", counting("applied", tracker_module.apply_event))
    sender = new_sender()

    async def work(action) -> dict:
        before = dict(counts)
        await action
        return {k: counts[k] - before[k] for k in counts}

    async def go():
        warm, cold = {}, {}
        async with backend.open() as store, backend.open() as other:
            for n in range(1000):
                spent = await work(take_turn(store, sender, long_turn(n)))
                warm.setdefault(n // 10, []).append(spent)
                if n in (10, 999):
                    cold[n] = await work(other.peek(sender, DOMAIN))
        return warm, cold

    warm, cold = asyncio.run(go())

    def per_turn(block: int, kind: str) -> float:
        return sum(w[kind] for w in warm[block]) / len(warm[block])

    assert per_turn(1, "decoded") == per_turn(99, "decoded") == 0  # a warm turn decodes nothing stored
    assert per_turn(1, "applied") == 5 and per_turn(99, "applied") <= 5 + 2 * KEEP_APPLIED / 10
    bound = KEEP_EVENTS + 2 * KEEP_APPLIED + SNAPSHOT_EVERY + 10
    assert cold[10]["decoded"] == 55 and cold[999]["decoded"] <= bound < 5000
    assert cold[999]["applied"] <= bound
