"""The example bots (en and zh) hand off for real: a customer asks for a person, the bot says it is
passing them on (the domain's own utter_handoff) and falls silent, an agent accepts and writes through
the agent API, the customer's stream receives it, the agent releases, and the bot greets again. The
bots' own rules and responses run; button payloads stand in for the NLU model (not trained here)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.channels.rest import RestChannel
from agent.server.app import build_app
from agent.server.runner import AgentRunner
from benchmarks.handoff_benchmark import AGENT, TOKEN, rule_only_agent

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("bot", ["ecommerce", "ecommerce_zh"])
def test_the_example_bot_hands_off_to_a_person_and_back(bot):
    agent = rule_only_agent(REPO / "domains" / bot)
    domain = agent.domain
    handoff_texts = {v.text for v in domain.responses["utter_handoff"]}
    greetings = {v.text for v in domain.responses["utter_greet"]}
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def go():
        app = build_app(AgentRunner(agent), [RestChannel()])
        async with TestClient(TestServer(app)) as client:

            async def say(text):
                resp = await client.post("/webhooks/rest/webhook", json={"sender": "shopper", "message": text})
                return [m.get("text") for m in await resp.json()]

            asked = await say("/talk_to_human")
            waiting = await say("/greet")
            stream = await client.get("/webhooks/rest/stream", params={"sender": "shopper"})
            await stream.content.readline()
            accepted = await client.post("/handoffs/shopper/accept", headers=auth)
            await client.post("/handoffs/shopper/messages", json={"text": "Hi, I'm here to help."}, headers=auth)
            while not (line := (await asyncio.wait_for(stream.content.readline(), 5)).decode()).startswith("data: "):
                pass
            stream.close()
            released = await client.post("/handoffs/shopper/release", json={"to": "bot"}, headers=auth)
            back = await say("/greet")
            return asked, waiting, accepted.status, json.loads(line[6:]), released.status, back

    asked, waiting, accepted, received, released, back = asyncio.run(go())
    assert len(asked) == 1 and asked[0] in handoff_texts  # the bot's own words for passing the customer on
    assert waiting == []  # queued: the bot is silent
    assert accepted == 200 and received == {"recipient_id": "shopper", "text": "Hi, I'm here to help.", "agent": AGENT}
    assert released == 200 and len(back) == 1 and back[0] in greetings
