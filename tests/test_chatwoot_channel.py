"""The Chatwoot Agent Bot connector against recorded-shape payloads (HANDOFF_AND_EVENTS.md §3) and a
local stand-in for Chatwoot's API: `pending` is the bot's, `open` is people's, and the bot never talks
over a person."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.chatwoot import ChatwootChannel, to_chatwoot, verify_signature
from agent.errors import AgentError
from agent.server.runner import AgentRunner
from tests.test_handoff_api import _agent

SECRET = "cw-secret"
NOW = 1_767_261_600


def message_event(content, *, status="pending", kind="incoming", sender_type="contact", private=False, mid=1):
    """A `message_created` delivery as Chatwoot sends it to an agent bot."""
    return {
        "event": "message_created",
        "id": mid,
        "content": content,
        "content_type": "text",
        "message_type": kind,
        "private": private,
        "sender": {"id": 55, "name": "Jane" if sender_type == "contact" else "Sam", "type": sender_type},
        "inbox": {"id": 3, "name": "Website"},
        "account": {"id": 1, "name": "Acme"},
        "conversation": {
            "id": 123,
            "inbox_id": 3,
            "status": status,
            "channel": "Channel::WebWidget",
            "meta": {"sender": {"id": 55, "name": "Jane", "type": "contact"}, "assignee": None},
        },
    }


class FakeChatwoot:
    def __init__(self):
        self.calls: list[tuple[str, dict, str | None]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/accounts/{account}/conversations/{conversation}/{what}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        self.calls.append((request.match_info["what"], await request.json(), request.headers.get("api_access_token")))
        return web.json_response({"ok": True})

    def posted(self) -> list:
        return [
            (what, body.get("content", body.get("status")), body.get("private", False)) for what, body, _ in self.calls
        ]


def run(scenario, secret=None):
    async def go():
        chatwoot = FakeChatwoot()
        async with TestServer(chatwoot.app()) as api:
            channel = ChatwootChannel(str(api.make_url("")), "bot-token", secret, clock=lambda: NOW)
            runner = AgentRunner(_agent_for_chatwoot())
            app = web.Application()
            app.add_routes(channel.routes(runner))
            async with TestClient(TestServer(app)) as client:

                async def deliver(event, headers=None):
                    resp = await client.post("/webhooks/chatwoot/webhook", json=event, headers=headers or {})
                    await channel.background.drain()
                    return resp.status

                try:
                    return await scenario(deliver, chatwoot, runner)
                finally:
                    await channel.close()

    return asyncio.run(go())


def _agent_for_chatwoot():
    import tempfile
    from pathlib import Path

    return _agent(Path(tempfile.mkdtemp()), HandoffSettings())


def test_the_bot_answers_pending_hands_over_and_stays_silent_while_open():
    async def scenario(deliver, chatwoot, runner):
        await deliver(message_event("/greet", mid=1))
        await deliver(message_event("/talk_to_human", mid=2))
        after_handoff = chatwoot.posted()
        await deliver(message_event("/greet", status="open", mid=3))  # a person has it now
        silent = chatwoot.posted()[len(after_handoff) :]
        tracker = await runner.agent.processor.store.retrieve("chatwoot:1:123", runner.agent.domain)
        return after_handoff, silent, tracker

    posted, silent, tracker = run(scenario)
    assert posted == [
        ("messages", "Hello!", False),
        ("messages", "A person will join shortly.", False),
        ("messages", "Handed over by the bot (requested). Customer's last words: /talk_to_human", True),
        ("toggle_status", "open", False),
    ]
    assert silent == []  # nothing from the bot while the conversation is open
    assert tracker.state.handoff.status == "queued"
    assert [e.text for e in tracker.events if e.type_name == "user"] == ["/greet", "/talk_to_human", "/greet"]


def test_back_to_pending_gives_the_conversation_back_to_the_bot():
    async def scenario(deliver, chatwoot, runner):
        await deliver(message_event("/talk_to_human", mid=1))
        await deliver(message_event("/greet", status="open", mid=2))
        before = len(chatwoot.calls)
        await deliver(message_event("/greet", status="pending", mid=3))  # an agent set it to pending again
        return chatwoot.posted()[before:]

    assert run(scenario) == [("messages", "Hello!", False)]


def test_a_person_answering_a_pending_conversation_takes_it_over():
    async def scenario(deliver, chatwoot, runner):
        await deliver(message_event("/greet", mid=1))
        await deliver(message_event("I can help", kind="outgoing", sender_type="user", mid=2))
        took_over = chatwoot.posted()[1:]
        state = (await runner.agent.processor.store.retrieve("chatwoot:1:123", runner.agent.domain)).state.handoff
        return took_over, state

    took_over, state = run(scenario)
    assert took_over == [("toggle_status", "open", False)]
    assert (state.status, state.agent) == ("human", "Sam")


@pytest.mark.parametrize(
    "event",
    [
        message_event("echo of our own post", kind="outgoing", sender_type="agent_bot"),
        message_event("a private note", kind="outgoing", sender_type="user", private=True),
        message_event("activity", kind="activity", sender_type="user"),
        {"event": "conversation_opened", "id": 123},
        {"event": "message_created", "message_type": "incoming"},  # no conversation: ignored, not a 500
    ],
)
def test_echoes_notes_and_other_events_are_ignored(event):
    async def scenario(deliver, chatwoot, runner):
        return await deliver(event), chatwoot.calls

    status, calls = run(scenario)
    assert status == 200 and calls == []


def test_a_redelivered_message_is_answered_once():
    async def scenario(deliver, chatwoot, runner):
        for _ in range(3):
            await deliver(message_event("/greet", mid=7), {"X-Chatwoot-Delivery": "d-1"})
        return chatwoot.posted()

    assert run(scenario) == [("messages", "Hello!", False)]


def test_signed_deliveries_are_checked_when_a_secret_is_set():
    body = json.dumps(message_event("/greet")).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), f"{NOW}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, str(NOW), good, body, NOW) is None
    assert verify_signature(SECRET, str(NOW), good, body + b" ", NOW) == "bad_signature"
    assert verify_signature(SECRET, str(NOW - 301), good, body, NOW) == "stale_timestamp"
    assert verify_signature(SECRET, None, good, body, NOW) == "missing_headers"

    async def scenario(deliver, chatwoot, runner):
        return await deliver(
            message_event("/greet"), {"X-Chatwoot-Timestamp": str(NOW), "X-Chatwoot-Signature": "sha256=00"}
        )

    assert run(scenario, secret=SECRET) == 401


def test_buttons_become_an_input_select_and_credentials_are_checked():
    body = to_chatwoot({"text": "Pick one", "buttons": [{"title": "Track", "payload": "/order_status"}]})
    assert body == {
        "content": "Pick one",
        "content_type": "input_select",
        "content_attributes": {"items": [{"title": "Track", "value": "/order_status"}]},
    }
    with pytest.raises(AgentError) as missing:
        ChatwootChannel.from_credentials({"url": "https://cw.example"})
    assert missing.value.code == "E525" and "bot_token" in str(missing.value)
