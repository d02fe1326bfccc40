"""The agent API end to end on a live aiohttp server: a REST customer is handed off, an agent
accepts (one wins a race), writes (the customer's stream receives it), releases, and the bot answers
again; bad calls get 4xx and store nothing."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.rest import RestChannel
from agent.nlu.payload import parse_payload
from agent.server.app import build_app
from agent.server.runner import AgentRunner
from tests.test_handoff_state import _processor

AGENTS = {"alice-token": "alice", "bob-token": "bob"}


def _agent(tmp_path, settings: HandoffSettings, store=None):
    """What the runner needs of an Agent, over the rule-only processor of test_handoff_state."""
    processor = _processor(tmp_path, settings, store)

    def parse_batch(texts, previous):
        return [parse_payload(t) or {"text": t, "intent": {"name": "nlu_fallback", "confidence": 0.0}} for t in texts]

    interpreter = SimpleNamespace(parse_batch=parse_batch, shortcut=lambda text: None)
    return SimpleNamespace(processor=processor, interpreter=interpreter, domain=processor.domain)


def serve(tmp_path, coro_fn, *, agents=AGENTS, enable_api=True, token=None):
    settings = HandoffSettings(agents=dict(agents), queue="support")

    async def go():
        runner = AgentRunner(_agent(tmp_path, settings))
        app = build_app(runner, [RestChannel()], enable_api=enable_api, token=token)
        async with TestClient(TestServer(app)) as client:
            return await coro_fn(client)

    return asyncio.run(go())


def _as(agent_token: str) -> dict:
    return {"Authorization": f"Bearer {agent_token}"}


async def _say(client, text, sender="c1"):
    resp = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
    return [m.get("text") for m in await resp.json()]


async def _next_sse(resp) -> dict:
    """The next `data:` line of a server-sent event stream."""
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), 5)).decode()
        if line.startswith("data: "):
            return json.loads(line[6:])


def test_a_customer_is_handed_off_answered_by_a_person_and_given_back(tmp_path):
    async def go(client):
        out = {"asked": await _say(client, "/talk_to_human")}
        queue = await (await client.get("/handoffs?queue=support", headers=_as("alice-token"))).json()
        out["queue"] = [(h["conversation_id"], h["status"], h["reason"]) for h in queue["handoffs"]]
        out["silent"] = await _say(client, "/greet")
        accepted = await client.post("/handoffs/c1/accept", headers=_as("alice-token"))
        out["accepted"] = (accepted.status, (await accepted.json())["handoff"]["agent"])
        stream = await client.get("/webhooks/rest/stream", params={"sender": "c1"})
        await stream.content.readline()  # ": connected"
        sent = await client.post("/handoffs/c1/messages", json={"text": "Hi, Alice here"}, headers=_as("alice-token"))
        out["sent"] = (sent.status, (await sent.json())["delivered"])
        out["received"] = await _next_sse(stream)
        stream.close()
        summary = await (await client.get("/handoffs/c1", headers=_as("alice-token"))).json()
        out["transcript"] = [(line["speaker"], line["text"]) for line in summary["transcript"]]
        released = await client.post("/handoffs/c1/release", json={"to": "bot"}, headers=_as("alice-token"))
        out["released"] = (released.status, (await released.json())["handoff"]["status"])
        out["back"] = await _say(client, "/greet")
        out["tracker"] = await (await client.get("/conversations/c1/tracker")).json()
        return out

    out = serve(tmp_path, go)
    assert out["asked"] == ["A person will join shortly."]
    assert out["queue"] == [("c1", "queued", "requested")]
    assert out["silent"] == []  # queued: no bot reply
    assert out["accepted"] == (200, "alice")
    assert out["sent"] == (200, True)
    assert out["received"]["text"] == "Hi, Alice here" and out["received"]["agent"] == "alice"
    assert out["transcript"][-3:] == [
        ("bot", "A person will join shortly."),
        ("user", "/greet"),
        ("agent", "Hi, Alice here"),
    ]
    assert out["released"] == (200, "bot")
    assert out["back"] == ["Hello!"]  # the first message after release gets a bot reply
    assert out["tracker"]["handoff"]["status"] == "bot"
    kinds = [e["event"] for e in out["tracker"]["events"]]
    assert kinds.count("handoff_requested") == kinds.count("handoff_assigned") == kinds.count("agent") == 1


def test_fifty_concurrent_accepts_have_exactly_one_winner(tmp_path):
    async def go(client):
        await _say(client, "/talk_to_human")
        tokens = list(AGENTS) * 25
        responses = await asyncio.gather(*(client.post("/handoffs/c1/accept", headers=_as(t)) for t in tokens))
        statuses = [r.status for r in responses]
        tracker = await (await client.get("/conversations/c1/tracker")).json()
        return statuses, tracker

    statuses, tracker = serve(tmp_path, go)
    assert statuses.count(200) == 1 and statuses.count(409) == 49
    assert [e["event"] for e in tracker["events"]].count("handoff_assigned") == 1


def test_the_desk_stream_shows_a_handoff_request_and_the_customers_messages(tmp_path):
    async def go(client):
        stream = await client.get("/handoffs/stream", params={"token": "bob-token"})
        await stream.content.readline()
        await _say(client, "/greet")  # the bot's own business: not on the stream
        await _say(client, "/talk_to_human")
        seen = [await _next_sse(stream) for _ in range(3)]
        await _say(client, "are you there?")
        seen.append(await _next_sse(stream))
        stream.close()
        return seen

    seen = serve(tmp_path, go)
    assert [s["type"] for s in seen] == ["message.user", "message.bot", "handoff.requested", "message.user"]
    assert seen[0]["event"]["text"] == "/talk_to_human" and seen[3]["event"]["text"] == "are you there?"
    assert seen[2]["handoff"]["status"] == "queued"


def test_the_http_api_starts_a_handoff(tmp_path):
    async def go(client):
        await _say(client, "/greet")
        started = await client.post("/conversations/c1/handoff", json={"reason": "vip", "queue": "gold"})
        again = await client.post("/conversations/c1/handoff", json={})
        return (started.status, (await started.json())["handoff"]), again.status, await _say(client, "/greet")

    (status, handoff), again, reply = serve(tmp_path, go)
    assert status == 200 and (handoff["status"], handoff["reason"], handoff["queue"]) == ("queued", "vip", "gold")
    assert again == 409 and reply == []


@pytest.mark.parametrize(
    "call, status",
    [
        (("post", "/handoffs/c1/messages", {"text": "hello"}, "alice-token"), 409),  # not accepted yet
        (("post", "/handoffs/c1/accept", None, "mallory-token"), 401),
        (("post", "/handoffs/c1/accept", None, None), 401),
        (("get", "/handoffs", None, None), 401),
        (("post", "/handoffs/nobody/accept", None, "alice-token"), 404),
        (("post", "/handoffs/c1/release", {"to": "nowhere"}, "alice-token"), 400),
        (("post", "/handoffs/c1/messages", {"text": ""}, "alice-token"), 400),
        (("post", "/handoffs/c1/messages", {"text": "x" * 5000}, "alice-token"), 400),
        (("post", "/handoffs/c1/messages", "not json", "alice-token"), 400),
    ],
)
def test_bad_agent_calls_are_refused_and_store_nothing(tmp_path, call, status):
    method, path, body, token = call

    async def go(client):
        await _say(client, "/talk_to_human")
        before = len((await (await client.get("/conversations/c1/tracker")).json())["events"])
        headers = _as(token) if token else {}
        if isinstance(body, str):
            resp = await client.request(method, path, data=body, headers=headers)
        else:
            resp = await client.request(method, path, json=body, headers=headers)
        after = len((await (await client.get("/conversations/c1/tracker")).json())["events"])
        return resp.status, (await resp.json())["error"], before, after

    got, error, before, after = serve(tmp_path, go)
    assert got == status and error and before == after


def test_only_the_owning_agent_writes_and_releases(tmp_path):
    async def go(client):
        await _say(client, "/talk_to_human")
        await client.post("/handoffs/c1/accept", headers=_as("alice-token"))
        write = await client.post("/handoffs/c1/messages", json={"text": "me too"}, headers=_as("bob-token"))
        release = await client.post("/handoffs/c1/release", json={}, headers=_as("bob-token"))
        conflict = await client.post("/handoffs/c1/accept", headers=_as("bob-token"))
        return write.status, release.status, conflict.status, (await conflict.json())["status"]

    assert serve(tmp_path, go) == (403, 403, 409, "human")


def test_the_desk_is_closed_without_the_api_or_agents(tmp_path):
    async def go(client):
        return (await client.get("/handoffs")).status

    assert serve(tmp_path, go, agents={}, enable_api=False) == 404


def test_handoff_metrics_count_requests_acceptances_and_queue_wait(tmp_path):
    async def go(client):
        await _say(client, "/talk_to_human")
        await client.post("/handoffs/c1/accept", headers=_as("alice-token"))
        return await (await client.get("/metrics")).text()

    text = serve(tmp_path, go)
    assert 'agent_handoffs_total{reason="requested"}' in text
    assert 'agent_handoff_outcomes_total{outcome="accepted"}' in text
    assert "agent_handoff_queue_wait_seconds_count" in text
