"""Slack as an agent desk: a REST customer's handoff opens a thread in the agents' channel, the
customer's messages follow in it, a person's reply in the thread reaches the customer (and takes the
handoff), `!release` gives the conversation back to the bot."""

from __future__ import annotations

import asyncio
import itertools
import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.rest import RestChannel
from agent.channels.slack import SlackChannel
from agent.server.app import build_app
from agent.server.runner import AgentRunner
from tests.test_handoff_api import _agent
from tests.test_slack_channel import SECRET, TOKEN, sign

AGENTS_CHANNEL, NOW = "C0AGENTS", 1_700_000_002


class FakeSlack:
    def __init__(self):
        self.posts: list[dict] = []
        self._ts = (f"1700000{n:03d}.000100" for n in itertools.count(100))

    async def post(self, request: web.Request) -> web.Response:
        body = await request.json()
        ts = next(self._ts)
        self.posts.append({**body, "ts": ts})
        return web.json_response({"ok": True, "channel": body["channel"], "ts": ts})


def envelope(text, *, thread_ts, ts, user="U0AGENT", event_id="Ev1", **extra) -> bytes:
    event = {"type": "message", "channel": AGENTS_CHANNEL, "channel_type": "channel", "user": user, "text": text}
    event.update(ts=ts, thread_ts=thread_ts, **extra)
    body = {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event}
    body["authorizations"] = [{"user_id": "U0OURBOT", "is_bot": True}]
    return json.dumps(body).encode()


def test_a_handoff_is_worked_from_a_slack_thread(tmp_path):
    async def go():
        slack_api = FakeSlack()
        api = web.Application()
        api.router.add_post("/api/chat.postMessage", slack_api.post)
        async with TestServer(api) as api_server:
            slack = SlackChannel(
                TOKEN,
                SECRET,
                api_url=str(api_server.make_url("/api")),
                clock=lambda: NOW,
                agents_channel=AGENTS_CHANNEL,
            )
            runner = AgentRunner(_agent(tmp_path, HandoffSettings()))
            app = build_app(runner, [RestChannel(), slack])
            async with TestClient(TestServer(app)) as client:

                async def customer(text):
                    resp = await client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": text})
                    return [m.get("text") for m in await resp.json()]

                async def in_slack(body: bytes):
                    headers = {
                        "Content-Type": "application/json",
                        "X-Slack-Request-Timestamp": str(NOW),
                        "X-Slack-Signature": sign(body, str(NOW)),
                    }
                    assert (await client.post("/webhooks/slack/webhook", data=body, headers=headers)).status == 200
                    await slack.background.drain()

                async def settle():
                    for _ in range(50):  # the desk posts from the hub in the background
                        await asyncio.sleep(0.02)

                await customer("/talk_to_human")
                await settle()
                await customer("my order is 42")
                await settle()
                root = slack_api.posts[0]["ts"]
                await in_slack(envelope("Top-level chatter", thread_ts=None, ts="1700000200.0001", event_id="Ev0"))
                await in_slack(envelope("Refund approved, 3-5 days.", thread_ts=root, ts="1700000201.0001"))
                await in_slack(
                    envelope("our own relay", thread_ts=root, ts="1700000202.0001", event_id="Ev2", bot_id="B1")
                )
                await settle()
                tracker = await runner.agent.processor.store.retrieve("c1", runner.agent.domain)
                taken = tracker.state.handoff
                agent_texts = [e.text for e in tracker.events if e.type_name == "agent"]
                await in_slack(envelope("!release", thread_ts=root, ts="1700000203.0001", event_id="Ev3"))
                await settle()
                back = await customer("/greet")
                await settle()
                return slack_api.posts, taken, agent_texts, back

    posts, taken, agent_texts, back = asyncio.run(go())
    assert posts[0]["channel"] == AGENTS_CHANNEL and "thread_ts" not in posts[0]
    assert "New handoff: c1" in posts[0]["text"] and "/talk_to_human" in posts[0]["text"]
    thread = [p["text"] for p in posts[1:] if p.get("thread_ts") == posts[0]["ts"]]
    assert thread[0] == "Customer: my order is 42"
    assert "Taken by slack:U0AGENT." in thread and "Given back to the bot by slack:U0AGENT." in thread
    assert (taken.status, taken.agent) == ("human", "slack:U0AGENT")
    assert agent_texts == ["Refund approved, 3-5 days."]  # not the chatter, not our own relay
    assert back == ["Hello!"]
