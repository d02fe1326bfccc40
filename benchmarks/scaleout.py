"""Several `agent run` workers on one tracker store, a bounded load client, and the check that every
conversation's stored events are complete, unduplicated and in order. The scale-out tests use it
as a library; run as a script it prints the figures for docs/benchmarks.md:

    python benchmarks/scaleout.py --model models/ecommerce.tar.gz                  # redis and postgres
    python benchmarks/scaleout.py --model M --stores redis --workers 1 2 4 --conversations 200 --turns 10

Per store and worker count: throughput and latency percentiles; per store: per-turn latency at
turn 10 vs turn 1,000 of one conversation; with --crash, the time a kill -9 costs (restart until
the worker answers, and how long conversations waited behind the dead worker's locks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

REDIS = ("127.0.0.1", 6379)
POSTGRES = ("127.0.0.1", 5432)


def endpoints_yaml(store: str, unique: str, lock_lifetime: float = 60.0) -> str:
    """Tracker store `store` ('redis' or 'postgres') plus a Redis lock store, under keys of their own."""
    if store == "redis":
        tracker = (
            f"tracker_store:\n  type: redis\n  url: {REDIS[0]}\n  port: {REDIS[1]}\n"
            f"  key_prefix: 'agent-scale:{unique}:'\n"
        )
    elif store == "postgres":
        tracker = (
            f"tracker_store:\n  type: sql\n  dialect: postgresql\n  url: {POSTGRES[0]}\n"
            f"  port: {POSTGRES[1]}\n  db: test\n  username: postgres\n"
        )
    else:
        raise ValueError(f"unknown store {store!r}")
    return tracker + (
        f"lock_store:\n  type: redis\n  url: {REDIS[0]}\n  port: {REDIS[1]}\n"
        f"  key_prefix: 'agent-scale-lock:{unique}:'\n  lock_lifetime: {lock_lifetime:g}\n"
    )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workers:
    """`agent run` processes on loopback ports sharing one endpoints.yml."""

    def __init__(
        self, model: str | Path, endpoints: Path, count: int, cwd: Path, threads: int = 1, extra: tuple[str, ...] = ()
    ):
        self.model, self.endpoints, self.cwd, self.threads = str(model), endpoints, cwd, threads
        self.extra = extra  # more `agent run` options, e.g. --enable-api
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen | None] = [None] * count
        self.logs = [cwd / f"worker-{k}.log" for k in range(count)]

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def spawn(self, k: int) -> None:
        with open(self.logs[k], "a") as log:
            self.procs[k] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "agent",
                    "run",
                    "--model",
                    self.model,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.ports[k]),
                    "--endpoints",
                    str(self.endpoints),
                    "--rate-limit",
                    "0",
                    "--credentials",
                    str(self.cwd / "none.yml"),
                    "--threads",
                    str(self.threads),
                    *self.extra,
                ],
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO)},
            )

    def wait_healthy(self, k: int, timeout: float = 180.0) -> float:
        """Seconds until worker k answers /health."""
        import urllib.request

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            proc = self.procs[k]
            if proc is None or proc.poll() is not None:
                raise RuntimeError(f"worker {k} exited:\n{self.logs[k].read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.urls[k]}/health", timeout=1)
                return time.monotonic() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"worker {k} did not answer within {timeout:.0f} s:\n{self.logs[k].read_text()[-3000:]}")

    def start(self) -> None:
        for k in range(len(self.ports)):
            self.spawn(k)
        for k in range(len(self.ports)):
            self.wait_healthy(k)

    def cpu_seconds(self) -> float:
        return cpu_seconds([p.pid for p in self.procs if p is not None and p.poll() is None])

    def kill(self, k: int) -> None:
        """kill -9: no shutdown handler runs, locks and in-flight turns are left as they are."""
        proc = self.procs[k]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def __enter__(self) -> Workers:
        (self.cwd / "none.yml").write_text("rest:\n")
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Turn:
    conversation: str
    index: int
    worker: int
    sent: float
    done: float = 0.0
    status: int | None = None  # None: no answer (connection refused or cut: the worker died)
    replies: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.conversation} turn {self.index}"

    @property
    def acknowledged(self) -> bool:
        return self.status == 200

    @property
    def latency(self) -> float:
        return self.done - self.sent


class TicketWatch:
    """Tells when a sent turn has taken its ticket in the Redis lock store.

    Tickets decide the order turns run in, and a request reaches its ticket only when its worker's
    event loop gets to it: on a busy 2-core box that can take longer than any fixed pause, so a
    client that merely waits a little cannot know which of two quick messages arrived first. The
    ordering test sends the next turn as soon as the previous one is in line (and usually still
    running), so the order it sent is the order the lock store must keep."""

    def __init__(self, lock_prefix: str):
        import redis.asyncio as aioredis

        self.lock_prefix = lock_prefix
        self.redis = aioredis.Redis(host=REDIS[0], port=REDIS[1])

    async def queued(self, turn: Turn, previous: Turn | None) -> None:
        """At most `previous` is in flight besides `turn`; a conversation's lock hash exists while
        any of its tickets is outstanding, and a ticket is released before its reply is sent."""
        key = self.lock_prefix + turn.conversation
        while not turn.done:
            serving, taken = await self.redis.hmget(key, "serving", "next")
            if taken is not None:
                if int(taken) > int(serving):
                    return  # two tickets out: the previous turn's and this one's
                if previous is None or previous.done:
                    return  # one ticket out and nothing else in flight: this one's
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        await self.redis.aclose()


async def run_load(
    urls: list[str],
    conversations: int,
    turns: int,
    prefix: str,
    concurrency: int = 16,
    watch: TicketWatch | None = None,
    timeout: float = 120.0,
    first_turn: int = 0,
) -> list[Turn]:
    """`conversations` × `turns` REST messages from at most `concurrency` conversations at once;
    turn k of conversation c goes to worker (c + k) mod workers. With `watch`, a turn is sent as
    soon as the previous one holds its ticket, without waiting for its reply (at most two in flight
    per conversation), so consecutive turns overlap on different workers; without it each turn
    waits for the previous reply (throughput runs)."""
    records: list[Turn] = []
    limit = asyncio.Semaphore(concurrency)

    async def send(session: aiohttp.ClientSession, turn: Turn) -> None:
        try:
            async with session.post(
                f"{urls[turn.worker]}/webhooks/rest/webhook", json={"sender": turn.conversation, "message": turn.text}
            ) as resp:
                body = await resp.json(content_type=None)
                turn.status, turn.replies = resp.status, body if isinstance(body, list) else []
        except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError):
            turn.status = None
        turn.done = time.perf_counter()

    async def conversation(session: aiohttp.ClientSession, c: int) -> None:
        async with limit:
            pending: deque[asyncio.Task] = deque()
            previous: Turn | None = None
            for k in range(first_turn, first_turn + turns):
                turn = Turn(f"{prefix}-{c}", k, (c + k) % len(urls), time.perf_counter())
                records.append(turn)
                pending.append(asyncio.create_task(send(session, turn)))
                if watch is None:
                    await pending.popleft()
                else:
                    await watch.queued(turn, previous)
                    if len(pending) >= 2:
                        await pending.popleft()
                previous = turn
            await asyncio.gather(*pending)

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        await asyncio.gather(*(conversation(session, c) for c in range(conversations)))
    return records


@dataclass
class Audit:
    conversations: int = 0
    acknowledged: int = 0
    lost: int = 0  # acknowledged turns missing from the store
    duplicated: int = 0  # turns stored more than once
    reordered: int = 0  # conversations whose stored turns are not in the order they were sent
    interleaved: int = 0  # a turn's events split by another turn's user message
    overlapped: int = 0  # turns sent before the previous turn of their conversation was answered
    problems: list[str] = field(default_factory=list)


def audit(records: list[Turn], stored: dict[str, list[dict]]) -> Audit:
    """Compare what the client sent (and was told) with each conversation's stored events."""
    out = Audit()
    by_conv: dict[str, list[Turn]] = {}
    for t in records:
        by_conv.setdefault(t.conversation, []).append(t)
    for conv, sent in by_conv.items():
        out.conversations += 1
        sent.sort(key=lambda t: t.index)
        out.overlapped += sum(1 for a, b in zip(sent, sent[1:]) if b.sent < a.done)
        events = stored.get(conv, [])
        users = [e.get("text") for e in events if e.get("event") == "user"]
        acked = [t.text for t in sent if t.acknowledged]
        out.acknowledged += len(acked)
        missing = [text for text in acked if text not in users]
        out.lost += len(missing)
        extra = len(users) - len(set(users))
        out.duplicated += extra
        order = {t.text: t.index for t in sent}
        positions = [order.get(u, -1) for u in users]
        if positions != sorted(positions):
            out.reordered += 1
        out.interleaved += _interleaved(events)
        if missing or extra or positions != sorted(positions):
            out.problems.append(f"{conv}: stored {positions}, acknowledged {[t.index for t in sent if t.acknowledged]}")
    return out


def _interleaved(events: list[dict]) -> int:
    """Every user message must be followed by its turn's actions up to action_listen before the next
    user message; a second user message inside a turn means two turns ran at once."""
    bad, open_turn = 0, False
    for e in events:
        if e.get("event") == "user":
            bad += open_turn
            open_turn = True
        elif e.get("event") == "action" and e.get("name") == "action_listen":
            open_turn = False
    return bad


async def stored_events(store: str, unique: str, senders: list[str]) -> dict[str, list[dict]]:
    """Read conversations straight from the store the workers shared."""
    if store == "redis":
        from agent.stores.redis_store import RedisTrackerStore

        backend = RedisTrackerStore(*REDIS, key_prefix=f"agent-scale:{unique}:")
    else:
        from agent.stores.postgres_store import PostgresTrackerStore

        backend = PostgresTrackerStore(*POSTGRES, user="postgres", database="test")
    try:
        return {s: [e.as_dict() for e in await backend.events(s)] for s in senders}
    finally:
        await backend.close()


async def clean(store: str, unique: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis(host=REDIS[0], port=REDIS[1])
    try:
        for pattern in (f"agent-scale:{unique}:*", f"snapshot:agent-scale:{unique}:*", f"agent-scale-lock:{unique}:*"):
            keys = [k async for k in client.scan_iter(match=pattern)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
    if store == "postgres":
        import asyncpg

        conn = await asyncpg.connect(host=POSTGRES[0], port=POSTGRES[1], user="postgres", database="test")
        try:
            like = prefix.replace("_", r"\_") + "-%"
            await conn.execute("DELETE FROM events WHERE sender_id LIKE $1", like)
            await conn.execute("DELETE FROM events_snapshots WHERE sender_id LIKE $1", like)
        finally:
            await conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (Linux /proc), for CPU cost per turn."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def server_pids(store: str) -> list[int]:
    """The Redis (and PostgreSQL) server processes, whose CPU the turns also cost."""
    names = ["redis-server"] + (["postgres"] if store == "postgres" else [])
    pids = []
    for name in names:
        found = subprocess.run(["pgrep", "-f", name], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in found]
    return pids


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def measure_workers(
    model: str, store: str, workers: int, conversations: int, turns: int, concurrency: int, tmp: Path
) -> dict:
    unique = uuid.uuid4().hex[:10]
    endpoints = tmp / f"endpoints-{unique}.yml"
    endpoints.write_text(endpoints_yaml(store, unique))
    prefix = f"bench{unique}"
    with Workers(model, endpoints, workers, tmp) as pool:
        asyncio.run(run_load(pool.urls, 8, 2, prefix + "warm", concurrency=8))
        servers = server_pids(store)
        cpu_before, server_before = pool.cpu_seconds(), cpu_seconds(servers)
        started = time.perf_counter()
        records = asyncio.run(run_load(pool.urls, conversations, turns, prefix, concurrency=concurrency))
        elapsed = time.perf_counter() - started
        worker_cpu, server_cpu = pool.cpu_seconds() - cpu_before, cpu_seconds(servers) - server_before
    senders = sorted({t.conversation for t in records})
    checked = audit(records, asyncio.run(stored_events(store, unique, senders)))
    asyncio.run(clean(store, unique, prefix))
    ok = [t.latency * 1000 for t in records if t.acknowledged]
    return {
        "store": store,
        "workers": workers,
        "turns": len(records),
        "failed": len(records) - len(ok),
        "throughput_per_s": round(len(ok) / elapsed, 1),
        "p50_ms": round(percentile(ok, 0.5), 1),
        "p99_ms": round(percentile(ok, 0.99), 1),
        "worker_cpu_ms_per_turn": round(1000 * worker_cpu / max(1, len(ok)), 2),
        "store_cpu_ms_per_turn": round(1000 * server_cpu / max(1, len(ok)), 2),
        "lost": checked.lost,
        "duplicated": checked.duplicated,
        "reordered": checked.reordered,
        "interleaved": checked.interleaved,
    }


def measure_growth(model: str, store: str, tmp: Path, length: int = 1000) -> dict:
    """One conversation of `length` turns through one worker: latency around turn 10 vs the last."""
    unique = uuid.uuid4().hex[:10]
    endpoints = tmp / f"endpoints-{unique}.yml"
    endpoints.write_text(endpoints_yaml(store, unique))
    prefix = f"grow{unique}"
    with Workers(model, endpoints, 1, tmp) as pool:
        records = asyncio.run(run_load(pool.urls, 1, length, prefix, concurrency=1))
    asyncio.run(clean(store, unique, prefix))
    lat = [t.latency * 1000 for t in sorted(records, key=lambda t: t.index)]
    early, late = statistics.median(lat[5:16]), statistics.median(lat[-11:])
    return {
        "store": store,
        "turns": length,
        "turn_10_ms": round(early, 2),
        "turn_1000_ms": round(late, 2),
        "ratio": round(late / early, 3),
    }


def measure_crash(model: str, store: str, tmp: Path, lock_lifetime: float = 10.0) -> dict:
    """kill -9 one of two workers under load and restart it: restart time, the longest wait any
    acknowledged turn had after the kill, and whether any acknowledged turn was lost."""
    unique = uuid.uuid4().hex[:10]
    endpoints = tmp / f"endpoints-{unique}.yml"
    endpoints.write_text(endpoints_yaml(store, unique, lock_lifetime))
    prefix = f"crash{unique}"
    with Workers(model, endpoints, 2, tmp) as pool:

        async def scenario():
            load = asyncio.create_task(run_load(pool.urls, 40, 40, prefix, concurrency=16))
            await asyncio.sleep(3.0)
            killed_at = time.perf_counter()
            pool.kill(1)
            pool.spawn(1)
            restart = await asyncio.to_thread(pool.wait_healthy, 1)
            return await load, killed_at, restart

        records, killed_at, restart = asyncio.run(scenario())
    senders = sorted({t.conversation for t in records})
    checked = audit(records, asyncio.run(stored_events(store, unique, senders)))
    asyncio.run(clean(store, unique, prefix))
    after = [t.latency for t in records if t.acknowledged and t.sent <= killed_at + 1.0 and t.done >= killed_at]
    return {
        "store": store,
        "lock_lifetime_s": lock_lifetime,
        "restart_s": round(restart, 2),
        "longest_wait_after_kill_s": round(max(after, default=0.0), 2),
        "unanswered": sum(1 for t in records if not t.acknowledged),
        "lost": checked.lost,
        "duplicated": checked.duplicated,
        "reordered": checked.reordered,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--stores", nargs="+", default=["redis", "postgres"])
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--growth", type=int, default=1000, help="turns in the growth conversation (0: skip)")
    parser.add_argument("--crash", action="store_true", help="also measure a kill -9 under load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.stores:
            for n in args.workers:
                print(
                    json.dumps(
                        measure_workers(
                            args.model, store, n, args.conversations, args.turns, args.concurrency, Path(tmp)
                        )
                    ),
                    flush=True,
                )
            if args.growth:
                print(json.dumps(measure_growth(args.model, store, Path(tmp), args.growth)), flush=True)
            if args.crash:
                print(json.dumps(measure_crash(args.model, store, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
