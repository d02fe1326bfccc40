"""Conversations in PostgreSQL: the SQLite store's events table, shared by every server worker.

Nothing is cached in process, since another worker may have extended a conversation since this one
last saw it. The connection pool binds to the event loop that first uses the store (the server's)."""
from __future__ import annotations

import asyncio
import json
import re

import asyncpg

from agent.bot.domain import Domain
from agent.core.events import Event, events_from_dicts
from agent.core.store import StoreUnavailable, TrackerConflict, TrackerStore, first_seq
from agent.core.tracker import Tracker

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
)
"""
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class PostgresTrackerStore(TrackerStore):
    """Rasa's `type: sql` store with `dialect: postgresql`.

    `save` inserts the turn's events in one transaction, keyed by (sender_id, seq). If another
    writer already appended events at those positions, the primary key rejects the whole insert
    and `save` raises TrackerConflict: that is what makes concurrent writers safe, as the second
    turn is refused instead of interleaved or lost."""

    def __init__(self, host: str = "localhost", port: int = 5432, database: str | None = None,
                 user: str | None = None, password: str | None = None, table: str = "events",
                 max_connections: int = 10, connect_timeout: float = 5.0):
        if not IDENTIFIER.fullmatch(table):
            raise ValueError(f"table name {table!r} is not a plain SQL identifier")
        self.host, self.port, self.database, self.table = host, port, database, table
        self._options = dict(host=host, port=port, database=database, user=user, password=password,
                             timeout=connect_timeout)
        self.max_connections = max_connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

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
        pool = await self._connected()
        rows = await pool.fetch(f"SELECT data FROM {self.table} WHERE sender_id = $1 ORDER BY seq", sender_id)
        if not rows:
            return None
        return Tracker(sender_id, domain, events_from_dicts([json.loads(r["data"]) for r in rows]))

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        if not new_events:
            return
        first = first_seq(tracker, new_events)
        rows = [(tracker.sender_id, first + k, e.type_name, e.timestamp, json.dumps(e.as_dict()))
                for k, e in enumerate(new_events)]
        pool = await self._connected()
        async with pool.acquire() as conn:
            try:
                async with conn.transaction():
                    await conn.executemany(f"INSERT INTO {self.table} (sender_id, seq, type, timestamp, data) "
                                           "VALUES ($1, $2, $3, $4, $5)", rows)
            except asyncpg.UniqueViolationError as exc:
                raise TrackerConflict(tracker.sender_id, first) from exc

    async def sender_ids(self) -> list[str]:
        pool = await self._connected()
        rows = await pool.fetch(f"SELECT DISTINCT sender_id FROM {self.table} ORDER BY sender_id")
        return [r["sender_id"] for r in rows]

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
