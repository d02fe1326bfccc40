"""Slack channel: signatures (shared test vectors), fast ack, de-duplication, filtering, Block Kit replies,
button clicks, 429 handling and secret hygiene, against a real aiohttp app and a local fake Slack API."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent.channels.slack import SlackChannel, sanitize, to_slack, verify_signature
from agent.core.processor import UserMessage
from agent.errors import AgentError
from agent.metrics import REGISTRY

PATH = "/webhooks/slack/webhook"
SECRET = "d3adb33fd3adb33fd3adb33fd3adb33f"  # the shared vectors' signing secret
TOKEN = "xoxb-1111-2222-sEcReTtOkEn"
ORDER_BUTTONS = [
    {"title": "Order 42", "payload": '/inform{"order_id":"42"}'},
    {"title": "Another order", "payload": '/inform{"order_id":"other"}'},
]


class Vector(NamedTuple):
    """A verified vector from shared/connectors/test_vectors.json (copied so the tests run without it)."""

    body: bytes
    timestamp: str
    signature: str


S0 = Vector(
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
    "1531420618",
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
)
S1 = Vector(
    b'{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}',
    "1700000000",
    "v0=86fb3cf53c03aa93f34d1d6d8f0979dbb8ee353df0c2cbf4b20bcc0b7d14d5a7",
)
S2 = Vector(
    b'{"token":"XXYYZZ","team_id":"T0TEAM001","api_app_id":"A0APP0001","event":{"type":"message","channel":"D0DM00001","user":"U0USER001","text":"I want a refund for order 42","ts":"1700000001.000100","event_ts":"1700000001.000100","channel_type":"im","client_msg_id":"8c1e5e6a-2b1f-4d2a-9a8e-1f0e2d3c4b5a"},"type":"event_callback","event_id":"Ev0EVENT0001","event_time":1700000001,"authorizations":[{"enterprise_id":null,"team_id":"T0TEAM001","user_id":"U0BOTUSER","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false}',
    "1700000002",
    "v0=8336940c1e9810e2b303f0158d942be30ed94052715b40995f934b19689312d2",
)
S3 = Vector(
    b'{"token":"XXYYZZ","team_id":"T0TEAM001","api_app_id":"A0APP0001","event":{"type":"message","subtype":"bot_message","channel":"D0DM00001","text":"Sure, which order?","ts":"1700000003.000200","event_ts":"1700000003.000200","channel_type":"im","bot_id":"B0BOT0001"},"type":"event_callback","event_id":"Ev0EVENT0002","event_time":1700000003,"authorizations":[{"enterprise_id":null,"team_id":"T0TEAM001","user_id":"U0BOTUSER","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false}',
    "1700000004",
    "v0=a94fb3df8b4dbc25e1219f676018c7e1b8eed38c57e35032814ed895310a0a52",
)
S4 = Vector(
    b"payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U0USER001%22%7D%2C%22team%22%3A%7B%22id%22%3A%22T0TEAM001%22%7D%2C%22channel%22%3A%7B%22id%22%3A%22D0DM00001%22%7D%2C%22container%22%3A%7B%22type%22%3A%22message%22%2C%22message_ts%22%3A%221700000003.000200%22%2C%22channel_id%22%3A%22D0DM00001%22%7D%2C%22message%22%3A%7B%22ts%22%3A%221700000003.000200%22%7D%2C%22response_url%22%3A%22https%3A%2F%2Fhooks.slack.com%2Factions%2FT0TEAM001%2F1%2Fabc%22%2C%22actions%22%3A%5B%7B%22action_id%22%3A%22qr_0%22%2C%22block_id%22%3A%22quick_replies%22%2C%22type%22%3A%22button%22%2C%22value%22%3A%22%2Finform%7B%5C%22order_id%5C%22%3A%5C%2242%5C%22%7D%22%2C%22text%22%3A%7B%22type%22%3A%22plain_text%22%2C%22text%22%3A%22Order%2042%22%7D%2C%22action_ts%22%3A%221700000005.000300%22%7D%5D%7D",
    "1700000005",
    "v0=a6e2acc0be1976045ae4911fa86b54a6708106bb60fc900844706e7accade283",
)


class Clock:
    def __init__(self, now: float = 1700000002) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeRunner:
    """Records what it is given and answers with text plus the order buttons, after `delay` seconds."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.received: list[UserMessage] = []
        self.delay, self.fail = delay, fail

    async def submit(self, message: UserMessage) -> list[dict[str, Any]]:
        self.received.append(message)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("boom")
        return [{"recipient_id": message.sender_id, "text": f"you said: {message.text}", "buttons": ORDER_BUTTONS}]


class FakeSlackApi:
    """A local chat.postMessage that records every call and plays scripted answers before answering ok."""

    def __init__(self, script: list[tuple[int, dict[str, str], dict[str, Any]]] | None = None) -> None:
        self.script = list(script or [])
        self.calls: list[dict[str, Any]] = []
        self.times: list[float] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.monotonic())
        self.calls.append(
            {
                "authorization": request.headers.get("Authorization"),
                "content_type": request.headers.get("Content-Type"),
                "body": await request.json(),
            }
        )
        status, headers, answer = self.script.pop(0) if self.script else (200, {}, {"ok": True, "ts": "9.9"})
        return web.json_response(answer, status=status, headers=headers)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [c["body"] for c in self.calls]


class Harness(NamedTuple):
    client: TestClient
    channel: SlackChannel
    api: FakeSlackApi
    runner: FakeRunner
    clock: Clock


@contextlib.asynccontextmanager
async def harness(
    runner: FakeRunner | None = None,
    script: list | None = None,
    now: float = 1700000002,
    api_url: str | None = None,
    **options: Any,
) -> AsyncIterator[Harness]:
    runner, api, clock = runner or FakeRunner(), FakeSlackApi(script), Clock(now)
    api_app = web.Application()
    api_app.router.add_post("/api/chat.postMessage", api.handle)
    async with TestServer(api_app) as api_server:
        channel = SlackChannel(
            TOKEN, SECRET, api_url=api_url or str(api_server.make_url("/api")), clock=clock, **options
        )
        app = web.Application()
        app.add_routes(channel.routes(runner))
        async with TestClient(TestServer(app)) as client:
            try:
                yield Harness(client, channel, api, runner, clock)
            finally:
                await channel.close()


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


async def send(
    h: Harness,
    body: bytes,
    signature: str | None = None,
    timestamp: str | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
):
    timestamp = timestamp or str(int(h.clock.now))
    all_headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or sign(body, timestamp),
        **(headers or {}),
    }
    return await h.client.post(PATH, data=body, headers=all_headers)


def event(event_id: str = "Ev1", **fields: Any) -> bytes:
    inner = {
        "type": "message",
        "channel": "D0DM00001",
        "user": "U0USER001",
        "text": "hello",
        "ts": "1700000001.000100",
        "channel_type": "im",
        **fields,
    }
    return json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM001",
            "event_id": event_id,
            "event": inner,
            "authorizations": [{"team_id": "T0TEAM001", "user_id": "U0BOTUSER", "is_bot": True}],
        }
    ).encode()


def click(value: str = "/affirm", message: dict[str, Any] | None = None, action_ts: str = "1700000005.1") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0USER001"},
        "team": {"id": "T0TEAM001"},
        "channel": {"id": "C0CHAN001"},
        "message": message or {"ts": "1700000003.000200"},
        "container": {
            "type": "message",
            "channel_id": "C0CHAN001",
            "message_ts": (message or {}).get("ts", "1700000003.000200"),
        },
        "actions": [{"type": "button", "action_id": "qr_0", "value": value, "action_ts": action_ts}],
    }
    return ("payload=" + quote(json.dumps(payload))).encode()


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def errors(kind: str) -> float:
    return counter("agent_channel_errors_total", channel="slack", kind=kind)


def duplicates() -> float:
    return counter("agent_duplicate_deliveries_total", channel="slack")


def expected_reply(channel: str, text: str, thread_ts: str | None = None) -> dict[str, Any]:
    """The exact chat.postMessage body for FakeRunner's answer (PROTOCOLS 1.7 shape)."""
    return {
        "channel": channel,
        **({"thread_ts": thread_ts} if thread_ts else {}),
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "block_id": "quick_replies",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "qr_0",
                        "text": {"type": "plain_text", "text": "Order 42"},
                        "value": '/inform{"order_id":"42"}',
                    },
                    {
                        "type": "button",
                        "action_id": "qr_1",
                        "text": {"type": "plain_text", "text": "Another order"},
                        "value": '/inform{"order_id":"other"}',
                    },
                ],
            },
        ],
    }


# --- signatures -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [S0, S1, S2, S3, S4], ids=["S0", "S1", "S2", "S3", "S4"])
def test_shared_vectors_verify(vector: Vector):
    secret = "8f742231b10e8888abcd99yyyzzz85a5" if vector is S0 else SECRET
    assert verify_signature(secret, vector.timestamp, vector.signature, vector.body, int(vector.timestamp)) is None


def test_signature_rejections_and_replay_window():
    body, ts, sig = S2
    assert verify_signature(SECRET, ts, sig, body + b"\n", 1700000002) == "bad_signature"  # S5
    assert verify_signature("0" * 32, ts, sig, body, 1700000002) == "bad_signature"
    assert verify_signature(SECRET, ts, sig, body, 1700000303) == "stale_timestamp"  # S6
    assert verify_signature(SECRET, ts, sig, body, 1700000302) is None  # S7: exactly 300 s is inside
    assert verify_signature(SECRET, ts, sig, body, 1700000002 - 301) == "stale_timestamp"
    assert verify_signature(SECRET, None, sig, body, 1700000002) == "missing_headers"
    assert verify_signature(SECRET, ts, "", body, 1700000002) == "missing_headers"
    assert verify_signature(SECRET, "17e8", sig, body, 1700000002) == "bad_headers"
    assert verify_signature(SECRET, ts, "v1=" + sig[3:], body, 1700000002) == "bad_headers"
    assert verify_signature(SECRET, ts, sig[:-1] + "é", body, 1700000002) == "bad_headers"


def test_forged_requests_are_rejected_with_401_and_counted():
    async def scenario():
        async with harness() as h:
            body, ts, sig = S2
            cases = {
                "bad_signature": dict(body=body + b"\n", signature=sig, timestamp=ts),
                "stale_timestamp": dict(body=body, signature=sign(body, "1699999000"), timestamp="1699999000"),
            }
            for kind, request in cases.items():
                before = errors(kind)
                resp = await send(h, **request)
                assert resp.status == 401 and await resp.json() == {"error": "invalid slack signature"}
                assert errors(kind) == before + 1
            wrong = await send(h, body, signature=sign(body, ts, "f" * 32), timestamp=ts)
            assert wrong.status == 401
            before = errors("missing_headers")
            bare = await h.client.post(PATH, data=body, headers={"Content-Type": "application/json"})
            assert bare.status == 401 and "Traceback" not in await bare.text()
            assert errors("missing_headers") == before + 1
            await h.channel.background.drain()
            assert h.runner.received == [] and h.api.calls == []
            assert (await send(h, body, signature=sig, timestamp=ts)).status == 200  # the genuine one passes

    asyncio.run(scenario())


# --- events -----------------------------------------------------------------------------------------


def test_url_verification_answers_the_challenge_as_text():
    async def scenario():
        async with harness(now=1700000000) as h:
            resp = await send(h, S1.body, S1.signature, S1.timestamp)
            assert resp.status == 200 and resp.content_type == "text/plain"
            assert await resp.text() == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"

    asyncio.run(scenario())


def test_dm_gets_exactly_one_block_kit_reply():
    async def scenario():
        async with harness() as h:
            resp = await send(h, S2.body, S2.signature, S2.timestamp)
            assert resp.status == 200 and await resp.text() == ""
            await h.channel.background.drain()
            assert h.runner.received == [
                UserMessage(
                    "I want a refund for order 42",
                    "D0DM00001:U0USER001",
                    "slack",
                    metadata={
                        "team_id": "T0TEAM001",
                        "channel": "D0DM00001",
                        "user": "U0USER001",
                        "ts": "1700000001.000100",
                        "thread_ts": None,
                        "event_type": "message",
                    },
                    via="slack",
                )
            ]
            assert h.api.calls == [
                {
                    "authorization": f"Bearer {TOKEN}",
                    "content_type": "application/json; charset=utf-8",
                    "body": expected_reply("D0DM00001", "you said: I want a refund for order 42"),
                }
            ]

    asyncio.run(scenario())


def test_replies_go_into_the_users_thread_and_use_threads_starts_one():
    async def scenario():
        async with harness() as h:
            await send(h, event("Ev1", text="in thread", ts="1700000009.000001", thread_ts="1700000001.000100"))
            await h.channel.background.drain()
            assert h.api.bodies == [expected_reply("D0DM00001", "you said: in thread", "1700000001.000100")]
            assert h.runner.received[0].metadata["thread_ts"] == "1700000001.000100"
        async with harness(use_threads=True) as h:
            await send(h, event("Ev1", text="top", ts="1700000007.000001"))
            await h.channel.background.drain()
            assert h.api.bodies == [expected_reply("D0DM00001", "you said: top", "1700000007.000001")]

    asyncio.run(scenario())


def test_slack_retry_of_the_same_event_is_answered_once():
    async def scenario():
        async with harness() as h:
            before = duplicates()
            assert (await send(h, S2.body, S2.signature, S2.timestamp)).status == 200
            retry = await send(h, S2.body, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
            assert retry.status == 200
            await h.channel.background.drain()
            assert len(h.runner.received) == 1 and len(h.api.calls) == 1
            assert duplicates() == before + 1
            # a retry whose original we never saw (crash, deploy) is processed, not dropped
            await send(h, event("Ev9", ts="1700000008.000001"), headers={"X-Slack-Retry-Num": "2"})
            await h.channel.background.drain()
            assert len(h.runner.received) == 2 and len(h.api.calls) == 2

    asyncio.run(scenario())


def test_mention_delivered_as_app_mention_and_message_is_answered_once():
    async def scenario():
        async with harness(slack_channel="C0CHAN001") as h:
            before = duplicates()
            fields = dict(
                channel="C0CHAN001",
                channel_type="channel",
                ts="1700000010.000100",
                text="<@U0BOTUSER> where is &lt;my&gt; order? <https://x.example/o/42|order 42>",
            )
            assert (await send(h, event("EvMention", type="app_mention", **fields))).status == 200
            assert (await send(h, event("EvMessage", **fields))).status == 200
            await h.channel.background.drain()
            assert [m.text for m in h.runner.received] == ["where is <my> order? order 42"]
            assert [m.sender_id for m in h.runner.received] == ["C0CHAN001:U0USER001"]
            assert len(h.api.calls) == 1 and h.api.bodies[0]["channel"] == "C0CHAN001"
            assert duplicates() == before + 1

    asyncio.run(scenario())


def test_bot_edited_and_foreign_channel_messages_are_ignored():
    async def scenario():
        async with harness(now=1700000004, slack_channel="C0CHAN001") as h:
            ignored = [
                event("E1", bot_id="B0OTHER01", text="from another bot"),
                event("E2", user="U0BOTUSER", text="from our own bot user"),
                event("E3", subtype="message_changed", text="edited"),
                event("E4", subtype="channel_join", text="joined"),
                event("E5", text="   "),
                event("E6", channel="C0OTHER01", channel_type="channel", text="not our channel"),
                event("E7", type="reaction_added", text="reaction"),
            ]
            assert (await send(h, S3.body, S3.signature, S3.timestamp)).status == 200  # our bot's echo
            for body in ignored:
                assert (await send(h, body)).status == 200
            await send(
                h,
                event("E8", channel="C0CHAN001", channel_type="channel", text="configured channel", ts="1700000011.1"),
            )
            await send(
                h,
                event(
                    "E9",
                    type="app_mention",
                    channel="C0OTHER01",
                    channel_type="channel",
                    text="<@U0BOTUSER> mention elsewhere",
                    ts="1700000012.1",
                ),
            )
            await h.channel.background.drain()
            assert [m.text for m in h.runner.received] == ["configured channel", "mention elsewhere"]
        async with harness() as h:  # no slack_channel: plain channel messages are not ours (Rasa)
            await send(h, event("E1", channel="C0CHAN001", channel_type="channel", text="chatter"))
            await h.channel.background.drain()
            assert h.runner.received == []

    asyncio.run(scenario())


def test_signed_but_unusable_body_gets_200_and_is_counted():
    async def scenario():
        async with harness() as h:
            before = errors("bad_payload")
            assert (await send(h, b"{not json")).status == 200
            assert (
                await send(h, b"payload=1&payload=2", content_type="application/x-www-form-urlencoded")
            ).status == 200
            assert errors("bad_payload") == before + 2
            assert h.runner.received == []

    asyncio.run(scenario())


# --- interactivity ----------------------------------------------------------------------------------


def test_button_click_becomes_the_payload_message_and_is_deduplicated():
    async def scenario():
        async with harness(now=1700000005) as h:
            form = "application/x-www-form-urlencoded"
            resp = await send(h, S4.body, S4.signature, S4.timestamp, content_type=form)
            assert resp.status == 200 and await resp.text() == ""
            before = duplicates()
            assert (await send(h, S4.body, content_type=form)).status == 200
            await h.channel.background.drain()
            assert [(m.sender_id, m.text) for m in h.runner.received] == [
                ("D0DM00001:U0USER001", '/inform{"order_id":"42"}')
            ]
            assert h.api.bodies == [expected_reply("D0DM00001", 'you said: /inform{"order_id":"42"}')]
            assert duplicates() == before + 1
            await send(h, click("/deny", {"ts": "1700000020.1", "thread_ts": "1700000019.1"}), content_type=form)
            await h.channel.background.drain()
            assert h.api.bodies[-1] == expected_reply("C0CHAN001", "you said: /deny", "1700000019.1")

    asyncio.run(scenario())


# --- replies ----------------------------------------------------------------------------------------


def test_ack_returns_before_a_slow_turn_finishes():
    async def scenario():
        async with harness(runner=FakeRunner(delay=1.0)) as h:
            start = time.monotonic()
            resp = await send(h, S2.body, S2.signature, S2.timestamp)
            assert resp.status == 200 and time.monotonic() - start < 0.5
            assert h.api.calls == [] and len(h.channel.background) == 1
            await h.channel.background.drain()
            assert len(h.api.calls) == 1 and time.monotonic() - start >= 1.0

    asyncio.run(scenario())


def test_rate_limited_post_waits_retry_after_and_is_delivered():
    async def scenario():
        limited = (429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})
        async with harness(script=[limited]) as h:
            before = errors("post_failed")
            await send(h, S2.body, S2.signature, S2.timestamp)
            await h.channel.background.drain()
            assert len(h.api.calls) == 2 and h.api.bodies[0] == h.api.bodies[1]
            assert h.api.times[1] - h.api.times[0] >= 0.9
            assert errors("post_failed") == before
        async with harness(script=[(429, {"Retry-After": "0"}, {})] * 5, max_attempts=3) as h:
            before = errors("rate_limited")
            assert await h.channel.post_message({"channel": "C1", "text": "x"}) is False
            assert len(h.api.calls) == 3 and errors("rate_limited") == before + 1

    asyncio.run(scenario())


def test_failures_are_logged_and_counted_without_secrets(caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario():
        async with harness(script=[(200, {}, {"ok": False, "error": "invalid_auth"})]) as h:
            before = errors("post_failed")
            await send(h, S2.body, S2.signature, S2.timestamp)
            await send(h, S2.body, signature=sign(S2.body, S2.timestamp, "f" * 32), timestamp=S2.timestamp)
            await h.channel.background.drain()
            assert len(h.api.calls) == 1 and errors("post_failed") == before + 1
        async with harness(api_url="http://127.0.0.1:9/api") as h:  # nothing listens there
            before = errors("post_failed")
            assert await h.channel.post_message({"channel": "C1", "text": "x"}) is False
            assert errors("post_failed") == before + 1
        async with harness(runner=FakeRunner(fail=True)) as h:
            before = errors("turn_failed")
            await send(h, S2.body, S2.signature, S2.timestamp)
            await h.channel.background.drain()
            assert errors("turn_failed") == before + 1 and h.api.calls == []

    asyncio.run(scenario())
    assert "invalid_auth" in caplog.text and "rejected a request (bad_signature)" in caplog.text
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert TOKEN not in text and SECRET not in text and "sEcReT" not in text


# --- construction and message shapes ----------------------------------------------------------------


def test_from_credentials_reads_rasa_keys_and_names_missing_ones():
    channel = SlackChannel.from_credentials(
        {
            "slack_token": TOKEN,
            "slack_signing_secret": SECRET,
            "slack_channel": "C0CHAN001",
            "use_threads": True,
            "api_url": "http://localhost:1/api/",
            "proxy": None,
        }
    )
    assert (channel.name, channel.slack_channel, channel.use_threads, channel.api_url) == (
        "slack",
        "C0CHAN001",
        True,
        "http://localhost:1/api",
    )
    assert (
        SlackChannel.from_credentials({"slack_token": TOKEN, "slack_signing_secret": SECRET}).api_url
        == "https://slack.com/api"
    )
    for missing in ("slack_token", "slack_signing_secret"):
        credentials = {"slack_token": TOKEN, "slack_signing_secret": SECRET, missing: ""}
        with pytest.raises(AgentError) as error:
            SlackChannel.from_credentials(credentials)
        assert missing in str(error.value) and "credentials.yml" in str(error.value)
        assert TOKEN not in str(error.value) and SECRET not in str(error.value)
    with pytest.raises(AgentError, match="slack_token"):
        SlackChannel.from_credentials(None)


def test_images_custom_and_plain_text_map_to_slack_bodies():
    message = {
        "text": "Here:",
        "image": "https://x.example/label.png",
        "custom": {"blocks": [{"type": "divider"}], "text": "custom"},
    }
    assert to_slack(message, "C1", "1.2") == [
        {"channel": "C1", "thread_ts": "1.2", "text": "Here:"},
        {"channel": "C1", "thread_ts": "1.2", "blocks": [{"type": "divider"}], "text": "custom"},
        {
            "channel": "C1",
            "thread_ts": "1.2",
            "text": "https://x.example/label.png",
            "blocks": [{"type": "image", "image_url": "https://x.example/label.png", "alt_text": "image"}],
        },
    ]
    many = to_slack(
        {"text": "pick", "buttons": [{"title": "t" * 80, "payload": f"/p{i}"} for i in range(30)]}, "C1", None
    )
    actions = [b for b in many[0]["blocks"] if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25, 5] and len({b["block_id"] for b in actions}) == 2
    assert len(actions[0]["elements"][0]["text"]["text"]) == 75
    assert sanitize("<@U0BOT> hi &amp; <mailto:a@b.c|a@b.c> <@U0OTHER>", {"U0BOT"}) == "hi & a@b.c <@U0OTHER>"


def test_a_persons_message_during_a_handoff_is_posted_where_the_customer_writes():
    async def scenario():
        async with harness() as h:
            sent = await h.channel.push("C123:U456", [{"recipient_id": "C123:U456", "text": "Hi, Alice here"}])
            assert sent and h.api.bodies == [{"channel": "C123", "text": "Hi, Alice here"}]
            assert not await h.channel.push("no-channel", [{"text": "lost"}])  # not a Slack conversation id

    asyncio.run(scenario())
