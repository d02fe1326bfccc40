"""Per-turn tracker store cost as one conversation grows, on every store (no model involved):

    python benchmarks/tracker_growth.py                      # sqlite, redis, postgres; 1,000 turns
    python benchmarks/tracker_growth.py --stores redis --turns 2000

For each store, the median around turn 10 and around the last turn of:
- warm: retrieve + append + save on the worker that served the previous turn (its cache);
- cold: loading the conversation in a worker that never saw it (snapshot + tail);
- replay: reading and replaying the whole history, what a store without snapshots pays.
Prints one JSON line per store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.bot.domain import Domain  # noqa: E402
from agent.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered  # noqa: E402
from agent.core.tracker import Tracker  # noqa: E402

DOMAIN = Domain()
RANKING = [{"name": f"intent_{k}", "confidence": round(0.9 / (k + 1), 4)} for k in range(10)]


def turn(n: int) -> list:
    """A realistic turn: a parsed message with a ranking and an entity, a slot, an answer."""
    parse = {
        "text": f"where is my order ORD-{n:06d}",
        "intent": {"name": "order_status", "confidence": 0.97},
        "intent_ranking": RANKING,
        "entities": [
            {
                "entity": "order_id",
                "value": f"ORD-{n:06d}",
                "start": 18,
                "end": 28,
                "extractor": "BuiltinEntityExtractor",
            }
        ],
    }
    return [
        UserUttered(text=parse["text"], parse_data=parse, input_channel="rest", message_id=uuid.uuid4().hex),
        SlotSet(name="order_id", value=f"ORD-{n:06d}"),
        ActionExecuted(name="utter_order_status", policy="RulePolicy", confidence=1.0),
        BotUttered(text=f"Order ORD-{n:06d} is on its way.", data={"buttons": []}),
        ActionExecuted(name="action_listen", policy="RulePolicy", confidence=1.0),
    ]


def make_store(kind: str, tmp: Path, unique: str):
    if kind == "sqlite":
        from agent.stores.sqlite_store import SQLiteTrackerStore

        return SQLiteTrackerStore(tmp / f"{unique}.db")
    if kind == "redis":
        from agent.stores.redis_store import RedisTrackerStore

        return RedisTrackerStore("127.0.0.1", 6379, key_prefix=f"agent-growth:{unique}:")
    from agent.stores.postgres_store import PostgresTrackerStore

    return PostgresTrackerStore("127.0.0.1", 5432, database="test", user="postgres", table=f"growth_{unique}")


async def drop(kind: str, unique: str) -> None:
    if kind == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis()
        for pattern in (f"agent-growth:{unique}:*", f"snapshot:agent-growth:{unique}:*"):
            keys = [k async for k in client.scan_iter(match=pattern)]
            if keys:
                await client.delete(*keys)
        await client.aclose()
    elif kind == "postgres":
        import asyncpg

        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test")
        await conn.execute(f"DROP TABLE IF EXISTS growth_{unique}, growth_{unique}_snapshots")
        await conn.close()


async def measure(kind: str, turns: int, tmp: Path) -> dict:
    """A short conversation (20 turns) and a long one (`turns`): warm cost of their turns around
    turn 10 and of the last turns, then cold loads and full replays of each, 11 times apiece."""
    unique = uuid.uuid4().hex[:10]
    store, reader = make_store(kind, tmp, unique), make_store(kind, tmp, unique)  # reader: a worker that never saw it
    out = {"store": kind, "turns": turns, "events": turns * 5}
    try:
        for label, sender, length, window in (
            ("turn10", "short", 20, slice(5, 16)),
            ("last", "long", turns, slice(-11, None)),
        ):
            warm = []
            for n in range(length):
                events = turn(n)
                started = time.perf_counter()
                tracker = await store.get_or_create(sender, DOMAIN)
                tracker.extend(events)
                await store.save(tracker, events)
                warm.append(time.perf_counter() - started)
            cold, replay = [], []
            for _ in range(11):
                started = time.perf_counter()
                await reader.peek(sender, DOMAIN)
                cold.append(time.perf_counter() - started)
                started = time.perf_counter()
                Tracker(sender, DOMAIN, await reader.events(sender))
                replay.append(time.perf_counter() - started)
            for name, series in (("warm", warm[window]), ("cold", cold), ("replay", replay)):
                out[f"{name}_{label}_ms"] = round(statistics.median(series) * 1000, 3)
    finally:
        await store.close()
        await reader.close()
        await drop(kind, unique)
    for name in ("warm", "cold", "replay"):
        out[f"{name}_ratio"] = round(out[f"{name}_last_ms"] / out[f"{name}_turn10_ms"], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "redis", "postgres"])
    parser.add_argument("--turns", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores:
            print(json.dumps(asyncio.run(measure(kind, args.turns, Path(tmp)))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
