"""Timeouts nobody's message reveals: the sweeper puts a customer nobody accepted back with the bot
(telling them, on their open stream too) and a quiet agent's conversation back in the queue."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.rest import RestChannel
from agent.core.events import HandoffAssigned
from agent.core.processor import UserMessage
from agent.metrics import REGISTRY
from agent.server.app import build_app
from agent.server.handoff_service import Handoffs
from agent.server.handoff_timeouts import HandoffTimeouts
from agent.server.runner import AgentRunner
from tests.test_handoff_api import _agent

SETTINGS = HandoffSettings(queue_timeout=60, agent_timeout=120, agents={"t": "alice"})


def _abandoned() -> float:
    return REGISTRY.get_sample_value("agent_handoff_outcomes_total", {"outcome": "abandoned"}) or 0.0


def test_the_sweeper_notices_a_silent_queue_and_a_quiet_agent(tmp_path):
    async def go():
        runner = AgentRunner(_agent(tmp_path, SETTINGS))
        now = [1_000.0]
        sweeper = HandoffTimeouts(Handoffs(runner, {}), runner.hub, sweep_s=0.01, clock=lambda: now[0])
        task = asyncio.ensure_future(sweeper.run())
        await asyncio.sleep(0.05)
        store, domain = runner.agent.processor.store, runner.agent.domain
        for sender in ("waiting", "talking"):
            await runner.turn(UserMessage("/talk_to_human", sender))
        talking = await store.retrieve("talking", domain)
        assigned = HandoffAssigned(agent="alice", timestamp=talking.events[-1].timestamp)
        talking.append(assigned)
        await store.save(talking, [assigned])
        before = _abandoned()
        now[0] = talking.events[-1].timestamp + 90  # past the queue timeout, not the agent's
        await asyncio.sleep(0.1)
        waiting = (await store.retrieve("waiting", domain)).state.handoff.status
        still = (await store.retrieve("talking", domain)).state.handoff.status
        now[0] += 60  # the agent has been quiet for 150 s
        await asyncio.sleep(0.1)
        requeued = (await store.retrieve("talking", domain)).state.handoff
        told = [e.text for e in (await store.retrieve("waiting", domain)).events if e.type_name == "bot"]
        task.cancel()
        return waiting, still, requeued, told, _abandoned() - before

    waiting, still, requeued, told, abandoned = asyncio.run(go())
    assert waiting == "bot" and still == "human"
    assert (requeued.status, requeued.agent) == ("queued", None)
    assert told[-1].startswith("Sorry, nobody from our team could take your chat in time.")
    assert abandoned == 1


def test_a_timed_out_customer_hears_it_on_their_open_stream(tmp_path):
    async def go():
        runner = AgentRunner(_agent(tmp_path, SETTINGS))
        rest = RestChannel()
        async with TestClient(TestServer(build_app(runner, [rest]))) as client:
            await client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "/talk_to_human"})
            stream = await client.get("/webhooks/rest/stream", params={"sender": "c1"})
            await stream.content.readline()
            outcome = await Handoffs(runner, {"rest": rest}).expire("c1", SETTINGS, now=10**10)
            while not (line := (await asyncio.wait_for(stream.content.readline(), 5)).decode()).startswith("data: "):
                pass
            stream.close()
            return outcome, json.loads(line[6:])

    outcome, received = asyncio.run(go())
    assert outcome.ok and outcome.body["handoff"]["status"] == "bot" and outcome.body["delivered"] is True
    assert received["text"].startswith("Sorry, nobody from our team could take your chat in time.")


def test_nothing_happens_before_a_timeout_is_due(tmp_path):
    async def go():
        runner = AgentRunner(_agent(tmp_path, SETTINGS))
        await runner.turn(UserMessage("/talk_to_human", "c1"))
        return await Handoffs(runner, {}).expire("c1", SETTINGS, now=0.0)

    outcome = asyncio.run(go())
    assert outcome.code == 409 and outcome.body["status"] == "queued"
