"""Pick the tracker store `endpoints.yml` asks for; by default an embedded SQLite file."""
from __future__ import annotations

from pathlib import Path

from agent.bot.endpoints import Endpoints
from agent.core.store import InMemoryTrackerStore, TrackerStore
from agent.errors import AgentError

DEFAULT_DB = Path(".agent") / "conversations.db"


def build_store(endpoints: Endpoints, default_db: Path = DEFAULT_DB) -> tuple[TrackerStore, str]:
    """The store and a line saying where conversations live."""
    from agent.core.sqlite_store import SQLiteTrackerStore

    settings = endpoints.tracker_store
    kind = str(settings.get("type") or "sqlite").lower()
    dialect = str(settings.get("dialect") or "sqlite").lower()
    if kind in ("in_memory", "memory"):
        return InMemoryTrackerStore(), "conversations in memory (lost on restart)"
    if kind == "sqlite" or (kind == "sql" and dialect == "sqlite"):
        db = Path(str(settings.get("db") or default_db))
        return SQLiteTrackerStore(db), f"conversations in SQLite: {db}"
    raise AgentError(f"{endpoints.source}: tracker_store type '{kind}'"
                     f"{f' (dialect {dialect})' if kind == 'sql' else ''} is not available in this release; "
                     "use type: sql with dialect: sqlite (the default) or type: in_memory")
