"""The embedded default tracker store: one SQLite file, events appended per turn, never rewritten.

SQLite calls run on one dedicated thread so a slow disk never stalls the event loop, and so the
connection is only ever used from the thread that opened it. Recently active conversations stay in
memory: a turn reads only the events appended since (by another process sharing the file), not a
long history. A conversation that is not in memory loads from its latest snapshot plus the events
after it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.bot.domain import Domain
from agent.core.events import Event, events_from_dicts
from agent.core.tracker import Tracker
from agent.stores import snapshot
from agent.stores.base import TrackerConflict, TrackerStore, first_seq, snapshot_for
from agent.stores.cache import TrackerCache

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    sender_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (sender_id, seq)
);
CREATE TABLE IF NOT EXISTS snapshots (
    sender_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL
);
"""


class SQLiteTrackerStore(TrackerStore):
    def __init__(self, path: str | Path, cached_conversations: int = 10_000):
        self.path = str(path)
        self._cache = TrackerCache(cached_conversations)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-store")
        self._db: sqlite3.Connection | None = None
        self._thread.submit(self._open).result()

    def _open(self) -> None:
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        self._db.executescript(SCHEMA)
        self._db.commit()

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        cached = self._cache.take(sender_id)
        if cached is not None:
            known = cached.tracker.event_count
            rows = await self._call(self._since, sender_id, known - 1)
            if rows and rows[0] == (known - 1, cached.last):
                # another process sharing the file (a second worker on this machine) may have appended
                cached.tracker.extend(events_from_dicts([json.loads(data) for _, data in rows[1:]]))
                return cached.tracker
        return await self._load(sender_id, domain)

    async def peek(self, sender_id: str, domain: Domain) -> Tracker | None:
        cached = self._cache.peek(sender_id)
        return cached.tracker if cached is not None else await self._load(sender_id, domain)

    async def _load(self, sender_id: str, domain: Domain) -> Tracker | None:
        saved, rows = await self._call(self._read, sender_id)
        if saved is None and not rows:
            return None
        tail = events_from_dicts([json.loads(r) for r in rows])
        tracker = snapshot.decode(sender_id, domain, saved, tail) if saved else Tracker(sender_id, domain, tail)
        return self._bind(tracker)

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        """Append the turn (and a snapshot when one is due) in one transaction; the (sender_id, seq)
        key turns a second writer's overlapping append into TrackerConflict."""
        first = first_seq(tracker, new_events)
        rows = [
            (tracker.sender_id, first + k, e.type_name, e.timestamp, json.dumps(e.as_dict()))
            for k, e in enumerate(new_events)
        ]
        saved = snapshot_for(tracker)
        try:
            await self._call(self._append, rows, (tracker.sender_id, tracker.event_count, saved) if saved else None)
        except sqlite3.IntegrityError as exc:
            raise TrackerConflict(tracker.sender_id, first) from exc
        if saved:
            tracker.snapshot_seq = tracker.event_count
        tracker.compact()
        if rows:
            self._cache.put(self._bind(tracker), rows[-1][4])

    async def events(self, sender_id: str, stop: int | None = None) -> list[Event]:
        rows = await self._call(self._events, sender_id, stop)
        return events_from_dicts([json.loads(r) for r in rows])

    async def sender_ids(self) -> list[str]:
        return await self._call(self._senders)

    def _read(self, sender_id: str) -> tuple[str | None, list[str]]:
        found = self._db.execute("SELECT seq, data FROM snapshots WHERE sender_id = ?", (sender_id,)).fetchone()
        seq, saved = found if found else (0, None)
        cur = self._db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND seq >= ? ORDER BY seq", (sender_id, seq)
        )
        return saved, [r[0] for r in cur.fetchall()]

    def _since(self, sender_id: str, seq: int) -> list[tuple[int, str]]:
        cur = self._db.execute(
            "SELECT seq, data FROM events WHERE sender_id = ? AND seq >= ? ORDER BY seq", (sender_id, seq)
        )
        return cur.fetchall()

    def _events(self, sender_id: str, stop: int | None) -> list[str]:
        cur = self._db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND seq < ? ORDER BY seq",
            (sender_id, stop if stop is not None else 2**62),
        )
        return [r[0] for r in cur.fetchall()]

    def _append(self, rows: list[tuple], saved: tuple | None) -> None:
        with self._db:
            self._db.executemany(
                "INSERT INTO events (sender_id, seq, type, timestamp, data) VALUES (?, ?, ?, ?, ?)", rows
            )
            if saved:
                self._db.execute(
                    "INSERT INTO snapshots (sender_id, seq, data) VALUES (?, ?, ?) ON CONFLICT(sender_id) "
                    "DO UPDATE SET seq = excluded.seq, data = excluded.data",
                    saved,
                )

    def _senders(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT sender_id FROM events ORDER BY sender_id")]

    async def close(self) -> None:
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)
