"""FAQ edits made while a bot serves: an append-only log in SQLite, shared by `agent faq` and every
server on the machine. A server replays the log over the trained bank at start and then follows it,
so an edit is served within a poll interval, survives restarts and retraining, and needs no retrain.

The log is keyed by bot name (the model manifest's `bot`), so edits carry over to a retrained model
of the same bot; an edit of an id that faq.yml also defines wins over faq.yml."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATH = Path(".agent") / "faq_edits.db"
UPSERT, REMOVE = "upsert", "remove"


@dataclass(frozen=True)
class FAQEdit:
    seq: int
    bot: str
    op: str
    entry_id: str
    entry: dict | None  # the whole entry for an upsert
    at: float


class FAQEditLog:
    def __init__(self, path: str | Path = DEFAULT_PATH):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None  # opened on first write, or once the file exists

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """Reading a log nobody has written yet creates nothing (`agent shell` in any folder)."""
        if self._db is None and (create or self.path.is_file()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS faq_edits (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "bot TEXT NOT NULL, op TEXT NOT NULL, entry_id TEXT NOT NULL, entry TEXT, at REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS faq_edits_bot ON faq_edits (bot, seq)")
            self._db = db
        return self._db

    def append(self, bot: str, op: str, entry_id: str, entry: dict | None = None) -> FAQEdit:
        at = time.time()
        with self._lock:
            cur = self._connect(create=True).execute(
                "INSERT INTO faq_edits (bot, op, entry_id, entry, at) VALUES (?, ?, ?, ?, ?)",
                (bot, op, entry_id, None if entry is None else json.dumps(entry, ensure_ascii=False), at),
            )
        return FAQEdit(cur.lastrowid, bot, op, entry_id, entry, at)

    def since(self, bot: str, seq: int = 0) -> list[FAQEdit]:
        with self._lock:
            db = self._connect(create=False)
            if db is None:
                return []
            rows = db.execute(
                "SELECT seq, bot, op, entry_id, entry, at FROM faq_edits WHERE bot = ? AND seq > ? ORDER BY seq",
                (bot, seq),
            ).fetchall()
        return [FAQEdit(s, b, op, i, None if e is None else json.loads(e), at) for s, b, op, i, e, at in rows]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
