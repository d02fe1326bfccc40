"""Conversations in PostgreSQL: the SQLite store's events and snapshots tables, shared by every
server worker.

Each worker keeps the conversations it served recently and, on the next turn, reads only the events
other workers appended since; a conversation it does not hold loads from its snapshot plus the
events after it. The connection pool binds to the event loop that first uses the store (the server's)."""

from __future__ import annotations

import asyncio
import json
import re

import asyncpg

from agent.bot.domain import Domain
from agent.core.events import Event, events_from_dicts
from agent.core.tracker import Tracker
from agent.stores import snapshot
from agent.stores.base import StoreUnavailable, TrackerConflict, TrackerStore, first_seq, snapshot_for
from agent.stores.bus import PostgresBus
from agent.stores.cache import TrackerCache

# `data` is TEXT, not JSONB: JSONB refuses the \u0000 escape a user's message may carry, and the
# store only ever reads whole conversations back.
SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    sender_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (sender_id, seq)
);
CREATE TABLE IF NOT EXISTS {table}_snapshots (
    sender_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL
)
"""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,52}")  # room for the _snapshots suffix in 63


class PostgresTrackerStore(TrackerStore):
    """Rasa's `type: sql` store with `dialect: postgresql`.

    `save` inserts the turn's events in one transaction, keyed by (sender_id, seq). If another
    writer already appended events at those positions, the primary key rejects the whole insert
    and `save` raises TrackerConflict: that is what makes concurrent writers safe, as the second
    turn is refused instead of interleaved or lost."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 5432,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        table: str = "events",
        max_connections: int = 10,
        connect_timeout: float = 5.0,
        cached_conversations: int = 10_000,
    ):
        if not IDENTIFIER.fullmatch(table):
            raise ValueError(f"table name {table!r} is not a plain SQL identifier")
        self.host, self.port, self.database, self.table = host, port, database, table
        self._options = dict(
            host=host, port=port, database=database, user=user, password=password, timeout=connect_timeout
        )
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._cache = TrackerCache(cached_conversations)

    def bus(self):
        return PostgresBus(self._options, f"{self.table}_handoff_news")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def check(self) -> None:
        """Connect once and create the table, so a wrong address or missing rights fail at startup."""
        try:
            conn = await asyncpg.connect(**self._options)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from None
        try:
            await self._create_table(conn)
        except asyncpg.PostgresError as exc:
            raise StoreUnavailable(str(exc) or type(exc).__name__) from None
        finally:
            await conn.close()

    async def _create_table(self, conn: asyncpg.Connection) -> None:
        try:
            await conn.execute(SCHEMA.format(table=self.table))
        except (asyncpg.UniqueViolationError, asyncpg.DuplicateTableError):
            pass  # another worker created it at the same moment: IF NOT EXISTS is not atomic

    async def _connected(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                pool = await asyncpg.create_pool(**self._options, min_size=1, max_size=self.max_connections)
                try:
                    async with pool.acquire() as conn:
                        await self._create_table(conn)
                except BaseException:
                    await pool.close()
                    raise
                self._pool = pool
        return self._pool

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        cached = self._cache.take(sender_id)
        if cached is not None:
            pool = await self._connected()
            known = cached.tracker.event_count
            rows = await pool.fetch(
                f"SELECT seq, data FROM {self.table} WHERE sender_id = $1 AND seq >= $2 ORDER BY seq",
                sender_id,
                known - 1,
            )
            if rows and rows[0]["seq"] == known - 1 and rows[0]["data"] == cached.last:
                cached.tracker.extend(events_from_dicts([json.loads(r["data"]) for r in rows[1:]]))
                return cached.tracker  # with what other workers appended since this one saved
        return await self.peek(sender_id, domain)

    async def peek(self, sender_id: str, domain: Domain) -> Tracker | None:
        pool = await self._connected()
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            saved = await conn.fetchrow(f"SELECT seq, data FROM {self.table}_snapshots WHERE sender_id = $1", sender_id)
            rows = await conn.fetch(
                f"SELECT data FROM {self.table} WHERE sender_id = $1 AND seq >= $2 ORDER BY seq",
                sender_id,
                saved["seq"] if saved else 0,
            )
        if saved is None and not rows:
            return None
        tail = events_from_dicts([json.loads(r["data"]) for r in rows])
        if saved is not None:
            return self._bind(snapshot.decode(sender_id, domain, saved["data"], tail))
        return self._bind(Tracker(sender_id, domain, tail))

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        if not new_events:
            return
        first = first_seq(tracker, new_events)
        rows = [
            (tracker.sender_id, first + k, e.type_name, e.timestamp, json.dumps(e.as_dict()))
            for k, e in enumerate(new_events)
        ]
        saved = snapshot_for(tracker)
        pool = await self._connected()
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    await conn.executemany(
                        f"INSERT INTO {self.table} (sender_id, seq, type, timestamp, data) VALUES ($1, $2, $3, $4, $5)",
                        rows,
                    )
                    if saved:
                        await conn.execute(
                            f"INSERT INTO {self.table}_snapshots (sender_id, seq, data) "
                            "VALUES ($1, $2, $3) ON CONFLICT (sender_id) DO UPDATE "
                            "SET seq = EXCLUDED.seq, data = EXCLUDED.data",
                            tracker.sender_id,
                            tracker.event_count,
                            saved,
                        )
            except asyncpg.UniqueViolationError as exc:
                raise TrackerConflict(tracker.sender_id, first) from exc
        if saved:
            tracker.snapshot_seq = tracker.event_count
        tracker.compact()
        self._cache.put(self._bind(tracker), rows[-1][4])

    async def events(self, sender_id: str, stop: int | None = None) -> list[Event]:
        pool = await self._connected()
        rows = await pool.fetch(
            f"SELECT data FROM {self.table} WHERE sender_id = $1 AND seq < $2 ORDER BY seq",
            sender_id,
            stop if stop is not None else 2**31 - 1,
        )
        return events_from_dicts([json.loads(r["data"]) for r in rows])

    async def sender_ids(self) -> list[str]:
        pool = await self._connected()
        rows = await pool.fetch(f"SELECT DISTINCT sender_id FROM {self.table} ORDER BY sender_id")
        return [r["sender_id"] for r in rows]

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
