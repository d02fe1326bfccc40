"""Pick the tracker store `endpoints.yml` asks for (by default an embedded SQLite file), and the lock
store (by default in memory: turns ordered within this process)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agent.bot.endpoints import Endpoints
from agent.errors import Errors
from agent.stores.base import InMemoryTrackerStore, StoreUnavailable, TrackerStore
from agent.stores.locks import ConversationLocks, LockStore
from agent.stores.settings import StoreSettings

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
        from agent.stores.sqlite_store import SQLiteTrackerStore

        db = Path(settings.text("db") or default_db)
        return SQLiteTrackerStore(db), f"conversations in SQLite: {db}"
    if kind == "redis":
        return _redis(settings)
    if kind in POSTGRES or (kind == "sql" and dialect in POSTGRES):
        return _postgres(settings)
    raise settings.error(
        "dialect" if kind == "sql" else "type",
        Errors.STORE_TYPE_UNAVAILABLE,
        kind=dialect if kind == "sql" else kind,
        choices="type: sql with dialect: sqlite (the default) or postgresql, type: redis, or type: in_memory",
    )


REDIS_PORT = 6379


def _redis_connection(settings: StoreSettings) -> dict:
    """Rasa's endpoints.yml keys for reaching a Redis server, shared by the tracker and lock stores."""
    return {
        "host": settings.host(),
        "port": settings.integer("port", REDIS_PORT, minimum=1),
        "db": settings.integer("db", 0),
        "username": settings.text("username"),
        "password": settings.text("password"),
        "use_ssl": settings.flag("use_ssl"),
    }


def _redis(settings: StoreSettings) -> tuple[TrackerStore, str]:
    from agent.stores.redis_store import DEFAULT_PREFIX, RedisTrackerStore

    store = RedisTrackerStore(
        **_redis_connection(settings),
        key_prefix=settings.text("key_prefix", DEFAULT_PREFIX),
        record_exp=settings.seconds("record_exp"),
    )
    _reach(store, "Redis", settings, "start Redis there, or correct url, port, db or password")
    expiry = f", expiring {store.record_exp:g}s after the last turn" if store.record_exp else ""
    return store, f"conversations in Redis: {store.address} db {store.db}, keys {store.key_prefix}*{expiry}"


def _postgres(settings: StoreSettings) -> tuple[TrackerStore, str]:
    from agent.stores.postgres_store import PostgresTrackerStore

    store = PostgresTrackerStore(
        host=settings.host(),
        port=settings.integer("port", 5432, minimum=1),
        database=settings.text("db"),
        user=settings.text("username"),
        password=settings.text("password"),
    )
    _reach(store, "PostgreSQL", settings, "start PostgreSQL there, or correct url, port, db, username or password")
    return store, f"conversations in PostgreSQL: {store.address}, database {store.database or '(default)'}"


def build_lock_store(endpoints: Endpoints) -> tuple[LockStore, str]:
    """The lock store and a line saying how turns are ordered. Redis is reached once here, so a
    wrong address stops `agent run` at startup."""
    settings = StoreSettings(endpoints, "lock_store")
    kind = (settings.text("type") or "in_memory").lower()
    if kind in ("in_memory", "memory"):
        return ConversationLocks(), "turns ordered per process"
    if kind != "redis":
        raise settings.error(
            "type", Errors.STORE_TYPE_UNAVAILABLE, kind=kind, choices="type: redis, or type: in_memory (the default)"
        )
    from agent.stores.redis_lock import DEFAULT_LIFETIME, DEFAULT_PREFIX, RedisLockStore

    locks = RedisLockStore(
        **_redis_connection(settings),
        key_prefix=settings.text("key_prefix", DEFAULT_PREFIX),
        lock_lifetime=settings.seconds("lock_lifetime", DEFAULT_LIFETIME, "leave it out for 60 s"),
    )
    _separate_keys(locks, settings, StoreSettings(endpoints))
    _reach(
        locks,
        "Redis",
        settings,
        "start Redis there, or correct url, port, db or password",
        "leave lock_store out to order turns within each process",
    )
    return locks, (
        f"turns ordered across workers by Redis locks: {locks.address} db {locks.db}, "
        f"keys {locks.key_prefix}*, lifetime {locks.lock_lifetime:g}s"
    )


def _separate_keys(locks, settings: StoreSettings, tracker: StoreSettings) -> None:
    """The key prefixes are used as given, so a lock key could land on a conversation's key when
    both stores share a Redis database (Rasa users often give both the same key_prefix)."""
    if (tracker.text("type") or "").lower() != "redis":
        return
    from agent.stores.redis_store import DEFAULT_PREFIX

    theirs = tracker.text("key_prefix", DEFAULT_PREFIX)
    same_db = (tracker.host(), tracker.integer("port", 6379, minimum=1), tracker.integer("db", 0)) == (
        locks.host,
        locks.port,
        locks.db,
    )
    if same_db and (theirs.startswith(locks.key_prefix) or locks.key_prefix.startswith(theirs)):
        raise settings.error("key_prefix", Errors.LOCK_PREFIX_OVERLAP, prefix=locks.key_prefix, theirs=theirs)


def _reach(
    store,
    product: str,
    settings: StoreSettings,
    hint: str,
    fallback: str = "use the embedded default (type: sql, dialect: sqlite)",
) -> None:
    """Run the store's check on a loop of its own thread: the caller may or may not be inside one."""
    with ThreadPoolExecutor(1, thread_name_prefix="store-check") as pool:
        try:
            pool.submit(asyncio.run, store.check()).result()
        except StoreUnavailable as exc:
            raise settings.error(
                None,
                Errors.STORE_UNREACHABLE,
                product=product,
                address=store.address,
                reason=exc,
                advice=hint,
                file=settings.file,
                fallback=fallback,
            ) from None
