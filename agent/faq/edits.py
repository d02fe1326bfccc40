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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS faq_edits (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "bot TEXT NOT NULL, op TEXT NOT NULL, entry_id TEXT NOT NULL, entry TEXT, at REAL NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS faq_edits_bot ON faq_edits (bot, seq)")

    def append(self, bot: str, op: str, entry_id: str, entry: dict | None = None) -> FAQEdit:
        at = time.time()
        with self._lock:
            cur = self._db.execute("INSERT INTO faq_edits (bot, op, entry_id, entry, at) VALUES (?, ?, ?, ?, ?)",
                                   (bot, op, entry_id, None if entry is None else json.dumps(entry, ensure_ascii=False),
                                    at))
        return FAQEdit(cur.lastrowid, bot, op, entry_id, entry, at)

    def since(self, bot: str, seq: int = 0) -> list[FAQEdit]:
        with self._lock:
            rows = self._db.execute("SELECT seq, bot, op, entry_id, entry, at FROM faq_edits WHERE bot = ? AND seq > ? "
                                    "ORDER BY seq", (bot, seq)).fetchall()
        return [FAQEdit(s, b, op, i, None if e is None else json.loads(e), at) for s, b, op, i, e, at in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
