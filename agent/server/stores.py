"""Pick the tracker store `endpoints.yml` asks for; by default an embedded SQLite file."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.bot.endpoints import Endpoints
from agent.core.store import InMemoryTrackerStore, StoreUnavailable, TrackerStore
from agent.errors import AgentError
from agent.server.store_settings import StoreSettings

DEFAULT_DB = Path(".agent") / "conversations.db"
POSTGRES = ("postgres", "postgresql")


def build_store(endpoints: Endpoints, default_db: Path = DEFAULT_DB) -> tuple[TrackerStore, str]:
    """The store and a line saying where conversations live. A server store is reached once here,
    so a wrong address stops `agent run` at startup rather than failing every turn."""
    settings = StoreSettings(endpoints)
    kind = (settings.text("type") or "sqlite").lower()
    dialect = (settings.text("dialect") or "sqlite").lower()
    if kind in ("in_memory", "memory"):
        return InMemoryTrackerStore(), "conversations in memory (lost on restart)"
    if kind == "sqlite" or (kind == "sql" and dialect == "sqlite"):
        from agent.core.sqlite_store import SQLiteTrackerStore

        db = Path(settings.text("db") or default_db)
        return SQLiteTrackerStore(db), f"conversations in SQLite: {db}"
    if kind == "redis":
        return _redis(settings)
    if kind in POSTGRES or (kind == "sql" and dialect in POSTGRES):
        return _postgres(settings)
    raise settings.error("dialect" if kind == "sql" else "type",
                         f"'{dialect if kind == 'sql' else kind}' is not available",
                         "use type: sql with dialect: sqlite (the default) or postgresql, type: redis, "
                         "or type: in_memory")


def _redis(settings: StoreSettings) -> tuple[TrackerStore, str]:
    from agent.core.redis_store import DEFAULT_PREFIX, RedisTrackerStore

    store = RedisTrackerStore(host=settings.host(), port=settings.integer("port", 6379, minimum=1),
                              db=settings.integer("db", 0), username=settings.text("username"),
                              password=settings.text("password"), use_ssl=settings.flag("use_ssl"),
                              key_prefix=settings.text("key_prefix", DEFAULT_PREFIX),
                              record_exp=settings.seconds("record_exp"))
    _reach(store, "Redis", settings, "start Redis there, or correct url, port, db or password")
    expiry = f", expiring {store.record_exp:g}s after the last turn" if store.record_exp else ""
    return store, f"conversations in Redis: {store.address} db {store.db}, keys {store.key_prefix}*{expiry}"


def _postgres(settings: StoreSettings) -> tuple[TrackerStore, str]:
    from agent.core.postgres_store import PostgresTrackerStore

    store = PostgresTrackerStore(host=settings.host(), port=settings.integer("port", 5432, minimum=1),
                                 database=settings.text("db"), user=settings.text("username"),
                                 password=settings.text("password"))
    _reach(store, "PostgreSQL", settings, "start PostgreSQL there, or correct url, port, db, username or password")
    return store, f"conversations in PostgreSQL: {store.address}, database {store.database or '(default)'}"


def _reach(store, product: str, settings: StoreSettings, hint: str) -> None:
    """Run the store's check on a loop of its own thread: the caller may or may not be inside one."""
    with ThreadPoolExecutor(1, thread_name_prefix="store-check") as pool:
        try:
            pool.submit(asyncio.run, store.check()).result()
        except StoreUnavailable as exc:
            raise AgentError(f"{settings.where()}: tracker_store: cannot use {product} at {store.address}: {exc}"
                             f"\n    hint: {hint} in {settings.file}, or use the embedded default "
                             "(type: sql, dialect: sqlite)") from None
