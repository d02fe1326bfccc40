"""The embedded default tracker store: one SQLite file, events appended per turn, never rewritten.

SQLite calls run on one dedicated thread so a slow disk never stalls the event loop, and so the
connection is only ever used from the thread that opened it. The file belongs to one process, so
recently active conversations stay in memory: a turn does not re-read and replay a long history."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.bot.domain import Domain
from agent.core.events import Event, events_from_dicts
from agent.core.store import TrackerConflict, TrackerStore, first_seq
from agent.core.tracker import Tracker

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    sender_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    timestamp REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (sender_id, seq)
)
"""


class SQLiteTrackerStore(TrackerStore):
    def __init__(self, path: str | Path, cached_conversations: int = 10_000):
        self.path = str(path)
        self.cached_conversations = cached_conversations
        self._cache: OrderedDict[str, Tracker] = OrderedDict()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-store")
        self._db: sqlite3.Connection | None = None
        self._thread.submit(self._open).result()

    def _open(self) -> None:
        self._db = sqlite3.connect(self.path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across process crashes
        self._db.execute(SCHEMA)
        self._db.commit()

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        # The caller takes the cached tracker; `save` puts it back. A turn that fails before saving
        # never returns it, so the next turn reloads what was really stored.
        cached = self._cache.pop(sender_id, None)
        if cached is not None:
            return cached
        rows = await self._call(self._load, sender_id)
        if not rows:
            return None
        return Tracker(sender_id, domain, events_from_dicts([json.loads(r) for r in rows]))

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        """Append the turn; the (sender_id, seq) key turns a second writer's overlapping append into
        TrackerConflict, and the cache keeps only what was stored."""
        first = first_seq(tracker, new_events)
        rows = [(tracker.sender_id, first + k, e.type_name, e.timestamp, json.dumps(e.as_dict()))
                for k, e in enumerate(new_events)]
        try:
            await self._call(self._append, rows)
        except sqlite3.IntegrityError as exc:
            raise TrackerConflict(tracker.sender_id, first) from exc
        self._cache[tracker.sender_id] = tracker
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > self.cached_conversations:
            self._cache.popitem(last=False)

    async def sender_ids(self) -> list[str]:
        return await self._call(self._senders)

    def _load(self, sender_id: str) -> list[str]:
        cur = self._db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY seq", (sender_id,))
        return [r[0] for r in cur.fetchall()]

    def _append(self, rows: list[tuple]) -> None:
        with self._db:
            self._db.executemany("INSERT INTO events (sender_id, seq, type, timestamp, data) VALUES (?, ?, ?, ?, ?)",
                                 rows)

    def _senders(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT sender_id FROM events ORDER BY sender_id")]

    async def close(self) -> None:
        if self._db is not None:
            await self._call(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)
