"""Handoff news across two workers sharing a Redis or PostgreSQL tracker store (and Redis locks):
a handoff requested on one worker shows on the other worker's desk stream, and an agent's message
sent through one worker reaches the customer's stream open on the other, in order.

Needs Redis and PostgreSQL; skips without them, except under CI=true where it fails."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.rest import RestChannel
from agent.server.app import build_app
from agent.server.runner import AgentRunner
from agent.stores.postgres_store import PostgresTrackerStore
from agent.stores.redis_lock import RedisLockStore
from agent.stores.redis_store import RedisTrackerStore
from tests.test_handoff_api import _agent, _next_sse
from tests.test_tracker_stores import POSTGRES, REDIS, require_service

AUTH = {"Authorization": "Bearer alice-token"}


def _store(kind: str, unique: str):
    if kind == "redis":
        return RedisTrackerStore(*REDIS, key_prefix=f"agent-bus:{unique}:")
    return PostgresTrackerStore(*POSTGRES, user="postgres", database="test", table=f"bus_{unique}")


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_handoff_news_crosses_workers(kind, tmp_path):
    require_service("redis")
    require_service(kind)
    unique = uuid.uuid4().hex[:10]
    settings = HandoffSettings(agents={"alice-token": "alice"})

    async def worker(k: int):
        store = _store(kind, unique)
        if kind == "postgres":
            await store.check()  # creates this test's own table
        locks = RedisLockStore(*REDIS, key_prefix=f"agent-bus-lock:{unique}:")
        runner = AgentRunner(_agent(tmp_path / f"w{k}", settings, store), locks=locks)
        client = TestClient(TestServer(build_app(runner, [RestChannel()])))
        await client.start_server()
        return client

    async def go():
        one, two = await worker(1), await worker(2)
        try:
            desk = await two.get("/handoffs/stream", headers=AUTH)
            await desk.content.readline()
            await asyncio.sleep(0.3)  # both workers are listening on the bus
            await one.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "/talk_to_human"})
            seen = [await _next_sse(desk) for _ in range(3)]
            customer = await two.get("/webhooks/rest/stream", params={"sender": "c1"})
            await customer.content.readline()
            await one.post("/handoffs/c1/accept", headers=AUTH)
            for n in range(3):
                await one.post("/handoffs/c1/messages", json={"text": f"agent says {n}"}, headers=AUTH)
            received = [await _next_sse(customer) for _ in range(3)]
            desk.close()
            customer.close()
            return seen, received
        finally:
            await one.close()
            await two.close()
            import redis.asyncio as aioredis

            client = aioredis.Redis(host=REDIS[0], port=REDIS[1])
            for pattern in (f"agent-bus:{unique}:*", f"snapshot:agent-bus:{unique}:*", f"agent-bus-lock:{unique}:*"):
                keys = [key async for key in client.scan_iter(match=pattern)]
                if keys:
                    await client.delete(*keys)
            await client.aclose()
            if kind == "postgres":
                import asyncpg

                conn = await asyncpg.connect(host=POSTGRES[0], port=POSTGRES[1], user="postgres", database="test")
                for table in (f"bus_{unique}", f"bus_{unique}_snapshots"):
                    await conn.execute(f"DROP TABLE IF EXISTS {table}")
                await conn.close()

    seen, received = asyncio.run(go())
    assert [s["type"] for s in seen] == ["message.user", "message.bot", "handoff.requested"]
    assert all(s["conversation_id"] == "c1" for s in seen)
    assert [r["text"] for r in received] == ["agent says 0", "agent says 1", "agent says 2"]
    assert all(r["agent"] == "alice" for r in received)
