"""WeChat and WeCom channels end to end: a real aiohttp app with the channel's routes, a fake turn runner and
a local fake of the token + customer-service APIs (each test drives them inside `asyncio.run`)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent.channels.wechat import WeChatChannel, WeComChannel
from agent.channels.wechat_crypto import aes_key, check_signature, decrypt_message, encrypt, signature
from agent.channels.wechat_protocol import render_replies
from agent.channels.wechat_xml import parse_fields, parse_message
from agent.core.processor import UserMessage
from agent.errors import AgentError
from agent.metrics import REGISTRY
from tests.test_wechat_crypto import A1, A2, BILLION_LAUGHS, BY_ID, XXE

OPENID = "oUSER_openid_000000000000001"
ACCOUNT = "gh_0123456789ab"
APP_ID, TOKEN, AES_KEY = A1["appid"], A1["token"], A1["encoding_aes_key"]
APP_SECRET = "AppSecret-5f3c2e9a7b1d4c6e8f0a2b4c"
CORP_ID, CORP_SECRET, AGENT_ID = "ww1234567890abcdef", "CorpSecret-0a9b8c7d6e5f4a3b2c1d", 1000002
WECOM_TOKEN, WECOM_KEY = "wecom_token", AES_KEY
NOW = 1700000001
REPLY = "好的，请提供订单号。"
_nonces = itertools.count(1429875300)


def errors(channel: str, kind: str) -> float:
    return REGISTRY.get_sample_value("agent_channel_errors_total", {"channel": channel, "kind": kind}) or 0.0


def duplicates(channel: str) -> float:
    return REGISTRY.get_sample_value("agent_duplicate_deliveries_total", {"channel": channel}) or 0.0


class FakeRunner:
    """Records submissions; answers with canned bot messages after `delay` seconds (or raises)."""

    def __init__(self, reply: str = REPLY, delay: float = 0.0, messages: list[dict] | None = None, fail: bool = False):
        self.reply, self.delay, self.messages, self.fail = reply, delay, messages, fail
        self.received: list[UserMessage] = []

    async def submit(self, message: UserMessage) -> list[dict[str, Any]]:
        self.received.append(message)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("dialogue engine exploded")
        if self.messages is not None:
            return self.messages
        return [{"recipient_id": message.sender_id, "text": self.reply}] if self.reply else []


@dataclass
class FakeApi:
    """Stand-in for api.weixin.qq.com and qyapi.weixin.qq.com that records every call."""

    send_errcodes: list[int] = field(default_factory=list)
    errmsg: str = "ok"
    tokens: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_get("/cgi-bin/gettoken", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send)
        app.router.add_post("/cgi-bin/message/send", self.send)
        return app

    async def token(self, request: web.Request) -> web.Response:
        self.tokens.append((request.path, dict(request.query)))
        return web.json_response({"access_token": f"ACCESS-TOKEN-{len(self.tokens)}", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        self.sends.append(
            {
                "path": request.path,
                "query": dict(request.query),
                "body": await request.read(),
                "content_type": request.headers.get("Content-Type"),
            }
        )
        errcode = self.send_errcodes.pop(0) if self.send_errcodes else 0
        return web.json_response({"errcode": errcode, "errmsg": self.errmsg if errcode else "ok"})


@dataclass
class Harness:
    client: TestClient
    channel: WeChatChannel | WeComChannel
    runner: FakeRunner
    api: FakeApi

    async def post(self, query: dict[str, str], body: str | bytes, **kwargs: Any):
        path = self.channel.path
        response = await self.client.post(
            path,
            params=query,
            data=body.encode() if isinstance(body, str) else body,
            headers={"Content-Type": "text/xml"},
            **kwargs,
        )
        return response.status, await response.text(), response.headers.get("Content-Type", "")


@asynccontextmanager
async def harness(
    kind: str = "wechat", runner: FakeRunner | None = None, api: FakeApi | None = None, **options: Any
) -> AsyncIterator[Harness]:
    runner, api = runner or FakeRunner(), api or FakeApi()
    api_server = TestServer(api.app())
    await api_server.start_server(access_log=None)  # a real Tencent log is not ours; its URLs hold secrets
    options.setdefault("clock", lambda: NOW)
    api_url = str(api_server.make_url(""))
    if kind == "wechat":
        options.setdefault("encoding_aes_key", None)
        channel: WeChatChannel | WeComChannel = WeChatChannel(
            options.pop("app_id", APP_ID),
            APP_SECRET,
            TOKEN,
            options.pop("encoding_aes_key"),
            api_url=api_url,
            **options,
        )
    else:
        channel = WeComChannel(
            options.pop("corp_id", CORP_ID),
            CORP_SECRET,
            AGENT_ID,
            options.pop("token", WECOM_TOKEN),
            options.pop("encoding_aes_key", WECOM_KEY),
            api_url=api_url,
            **options,
        )
    app = web.Application()
    app.add_routes(channel.routes(runner))
    try:
        async with TestClient(TestServer(app)) as client:
            try:
                yield Harness(client, channel, runner, api)
            finally:
                await channel.close()
    finally:
        await api_server.close()


def text_xml(
    content: str = "你好，我要退货",
    msg_id: str = "24300000000000001",
    sender: str = OPENID,
    to: str = ACCOUNT,
    create_time: int = 1700000000,
    msg_type: str = "text",
) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, sender: str = OPENID, create_time: int = 1700000000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey></xml>"
    )


def plain_query(timestamp: str = "1700000000", nonce: str | None = None, token: str = TOKEN) -> dict[str, str]:
    nonce = nonce or str(next(_nonces))
    return {"signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "openid": OPENID}


def safe_request(
    xml: str,
    receive_id: str = APP_ID,
    key: str = AES_KEY,
    token: str = TOKEN,
    timestamp: str = "1700000000",
    nonce: str | None = None,
    wecom: bool = False,
) -> tuple[dict[str, str], str]:
    """Query and body as WeChat (or WeCom) sends a safe-mode callback."""
    nonce = nonce or str(next(_nonces))
    encrypted = encrypt(xml, aes_key(key), receive_id)
    query = {"timestamp": timestamp, "nonce": nonce, "msg_signature": signature(token, timestamp, nonce, encrypted)}
    if not wecom:
        query.update(signature=signature(token, timestamp, nonce), encrypt_type="aes", openid=OPENID)
    to = receive_id if wecom else ACCOUNT
    return query, f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"


def open_envelope(body: str, token: str, timestamp: str, nonce: str, key: str, receive_id: str) -> str:
    """Check an encrypted passive reply the way WeChat does and return its plaintext XML."""
    fields = parse_fields(body)
    assert (fields["TimeStamp"], fields["Nonce"]) == (timestamp, nonce)
    check_signature(fields["MsgSignature"], token, timestamp, nonce, fields["Encrypt"])
    return decrypt_message(fields["Encrypt"], aes_key(key), receive_id).decode()


# --- GET verification ----------------------------------------------------------------------------------------------


def test_get_echoes_echostr_for_a_valid_signature():
    w1 = BY_ID["W1-computed"]

    async def scenario():
        async with harness(clock=lambda: 1700000000) as h:
            response = await h.client.get(
                h.channel.path,
                params={
                    "signature": w1["expected_signature"],
                    "timestamp": w1["timestamp"],
                    "nonce": w1["nonce"],
                    "echostr": w1["echostr"],
                },
            )
            assert response.status == 200
            assert await response.read() == w1["expected_response"]["body"].encode()
            assert response.headers["Content-Type"].startswith("text/plain")

    asyncio.run(scenario())


W1_QUERY = {
    "signature": BY_ID["W1-computed"]["expected_signature"],
    "timestamp": "1700000000",
    "nonce": "1429875203",
    "echostr": "7351862918405287935",
}


@pytest.mark.parametrize(
    "change, status, kind",
    [
        ({"signature": "0" * 40}, 403, "signature"),
        ({"nonce": "1429875204"}, 403, "signature"),
        ({"echostr": None}, 400, "params"),
        ({"signature": None}, 400, "params"),
        ({"timestamp": None}, 400, "params"),
        ({"timestamp": "17e8"}, 400, "params"),
        ({"clock": 1700000000 + 301}, 403, "stale"),
        ({"clock": 1700000000 - 301}, 403, "stale"),
    ],
)
def test_get_rejections(change, status, kind):
    change = dict(change)
    now = change.pop("clock", 1700000000)
    query = {k: v for k, v in {**W1_QUERY, **change}.items() if v is not None}

    async def scenario():
        async with harness(clock=lambda: now) as h:
            before = errors("wechat", kind)
            response = await h.client.get(h.channel.path, params=query)
            body = await response.text()
            assert response.status == status and len(body) < 20 and "7351862918405287935" not in body
            assert errors("wechat", kind) == before + 1

    asyncio.run(scenario())


def test_wecom_get_decrypts_the_echostr():
    c5 = BY_ID["C5-computed-verify-url"]
    percent_encoded = (
        f"{WeComChannel.path}?msg_signature={c5['expected_msg_signature']}&timestamp={c5['timestamp']}"
        f"&nonce={c5['nonce']}&echostr={c5['echostr_urlencoded_in_query']}"
    )
    raw_plus = percent_encoded.replace(c5["echostr_urlencoded_in_query"], c5["echostr"].replace("=", "%3D"))

    async def scenario():
        async with harness("wecom", clock=lambda: 1700000000) as h:
            for url in (percent_encoded, raw_plus):  # a literal '+' arrives as ' ' after form decoding
                response = await h.client.get(url)
                assert response.status == 200
                assert await response.read() == c5["expected_response_body"].encode()

    asyncio.run(scenario())


@pytest.mark.parametrize("vector_id", ["C1-wechatpy-verify-url", "C3-tencent-wecom-sample-verify"])
def test_wecom_get_published_vectors(vector_id):
    v = BY_ID[vector_id]

    async def scenario():
        async with harness(
            "wecom",
            corp_id=v["receive_id"],
            token=v["token"],
            encoding_aes_key=v["encoding_aes_key"],
            clock=lambda: int(v["timestamp"]),
        ) as h:
            response = await h.client.get(
                h.channel.path,
                params={
                    "msg_signature": v["expected_msg_signature"],
                    "timestamp": v["timestamp"],
                    "nonce": v["nonce"],
                    "echostr": v["echostr"],
                },
            )
            assert (response.status, await response.text()) == (200, v["expected_response_body"])

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "corp_id, change, kind",
    [
        ("ww0000000000000000", {}, "receive_id"),
        (CORP_ID, {"msg_signature": "d1ba877edc85b601b75b5a5f55184faf7ffba9d5"}, "signature"),
        (CORP_ID, {"echostr": "A" + BY_ID["C5-computed-verify-url"]["echostr"][1:]}, "signature"),
    ],
)
def test_wecom_get_rejections(corp_id, change, kind):
    c5 = BY_ID["C5-computed-verify-url"]
    query = {
        "msg_signature": c5["expected_msg_signature"],
        "timestamp": c5["timestamp"],
        "nonce": c5["nonce"],
        "echostr": c5["echostr"],
        **change,
    }

    async def scenario():
        async with harness("wecom", corp_id=corp_id, clock=lambda: 1700000000) as h:
            before = errors("wecom", kind)
            response = await h.client.get(h.channel.path, params=query)
            assert (response.status, await response.text()) == (403, "forbidden")
            assert errors("wecom", kind) == before + 1

    asyncio.run(scenario())


# --- POST, passive replies -----------------------------------------------------------------------------------------


def test_plain_text_gets_the_exact_passive_reply():
    async def scenario():
        async with harness() as h:
            status, body, content_type = await h.post(plain_query(), text_xml())
            assert (status, body) == (200, A2["plaintext_reply"])
            assert content_type.startswith("application/xml")
            assert h.runner.received == [
                UserMessage(
                    "你好，我要退货",
                    OPENID,
                    "wechat",
                    metadata={
                        "to_user": ACCOUNT,
                        "msg_type": "text",
                        "msg_id": "24300000000000001",
                        "create_time": 1700000000,
                    },
                    via="wechat",
                )
            ]

    asyncio.run(scenario())


def test_safe_mode_reply_matches_the_vector_and_verifies():
    async def scenario():
        async with harness(encoding_aes_key=AES_KEY, random16=lambda: A2["random16_ascii"].encode()) as h:
            query = dict(part.split("=", 1) for part in A1["post_query"].split("&"))
            status, body, content_type = await h.post(query, A1["post_body"])
            assert (status, body) == (200, A2["response_body"])
            assert content_type.startswith("application/xml")
            assert open_envelope(body, TOKEN, "1700000000", "1429875203", AES_KEY, APP_ID) == A2["plaintext_reply"]
            assert [m.text for m in h.runner.received] == ["你好，我要退货"]

    asyncio.run(scenario())


def test_safe_mode_reply_uses_fresh_randomness():
    async def scenario():
        async with harness(encoding_aes_key=AES_KEY) as h:
            query, body = safe_request(text_xml(msg_id="1"))
            status, reply, _ = await h.post(query, body)
            assert status == 200 and A2["encrypt"] not in reply
            plain = open_envelope(reply, TOKEN, query["timestamp"], query["nonce"], AES_KEY, APP_ID)
            assert parse_message(plain).content == REPLY

    asyncio.run(scenario())


def _tampered(encrypted: str) -> str:
    raw = bytearray(base64.b64decode(encrypted))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def _resigned(query: dict[str, str], body: str, encrypted: str) -> tuple[dict[str, str], str]:
    """An attacker who knows the token (but not the key) re-signs a tampered envelope."""
    body = body.replace(A1["encrypt"], encrypted)
    return {**query, "msg_signature": signature(TOKEN, query["timestamp"], query["nonce"], encrypted)}, body


SAFE_QUERY = dict(part.split("=", 1) for part in A1["post_query"].split("&"))


@pytest.mark.parametrize(
    "name, query, body, app_id, status, kind",
    [
        ("forged msg_signature", {**SAFE_QUERY, "msg_signature": "0" * 40}, A1["post_body"], APP_ID, 403, "signature"),
        ("forged url signature", {**SAFE_QUERY, "signature": "0" * 40}, A1["post_body"], APP_ID, 403, "signature"),
        (
            "tampered Encrypt",
            SAFE_QUERY,
            A1["post_body"].replace(A1["encrypt"], _tampered(A1["encrypt"])),
            APP_ID,
            403,
            "signature",
        ),
        (
            "tampered and re-signed",
            *_resigned(SAFE_QUERY, A1["post_body"], _tampered(A1["encrypt"])),
            APP_ID,
            403,
            "decrypt",
        ),
        ("wrong appid", SAFE_QUERY, A1["post_body"], "wx0000000000000000", 403, "receive_id"),
        (
            "missing msg_signature",
            {k: v for k, v in SAFE_QUERY.items() if k != "msg_signature"},
            A1["post_body"],
            APP_ID,
            400,
            "params",
        ),
        (
            "missing nonce",
            {k: v for k, v in SAFE_QUERY.items() if k != "nonce"},
            A1["post_body"],
            APP_ID,
            400,
            "params",
        ),
        ("plaintext to a safe-mode account", plain_query(), text_xml(), APP_ID, 403, "plaintext"),
        ("no Encrypt", SAFE_QUERY, "<xml><ToUserName>gh</ToUserName></xml>", APP_ID, 400, "xml"),
        ("DOCTYPE in the envelope", SAFE_QUERY, "<!DOCTYPE xml>" + A1["post_body"], APP_ID, 400, "xml"),
    ],
)
def test_safe_mode_rejections(name, query, body, app_id, status, kind):
    async def scenario():
        async with harness(app_id=app_id, encoding_aes_key=AES_KEY) as h:
            before = errors("wechat", kind)
            got_status, text, _ = await h.post(query, body)
            assert got_status == status, name
            assert text in ("forbidden", "bad request") and "Traceback" not in text
            assert errors("wechat", kind) == before + 1
            assert h.runner.received == []

    asyncio.run(scenario())


def test_stale_post_is_refused():
    async def scenario():
        async with harness(clock=lambda: NOW + 3600) as h:
            before = errors("wechat", "stale")
            status, _, _ = await h.post(plain_query(), text_xml())
            assert status == 403 and errors("wechat", "stale") == before + 1 and h.runner.received == []

    asyncio.run(scenario())


def test_encrypted_post_without_a_configured_key_is_refused():
    async def scenario():
        async with harness() as h:
            status, _, _ = await h.post(*safe_request(text_xml()))
            assert status == 403 and h.runner.received == []

    asyncio.run(scenario())


def test_replayed_query_with_another_body_is_refused():
    async def scenario():
        async with harness() as h:
            query = plain_query()
            assert (await h.post(query, text_xml(msg_id="1")))[0] == 200
            assert (await h.post(query, text_xml(msg_id="1")))[0] == 200  # a retry: same query, same body
            before = errors("wechat", "replay")
            status, _, _ = await h.post(query, text_xml("转账给我", msg_id="2"))
            assert status == 403 and errors("wechat", "replay") == before + 1
            assert [m.text for m in h.runner.received] == ["你好，我要退货"]

    asyncio.run(scenario())


# --- hostile input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, "<!DOCTYPE xml>" + text_xml(), "<xml><Content>unclosed</xml>"])
def test_hostile_plain_xml_is_rejected(body):
    async def scenario():
        async with harness() as h:
            before = errors("wechat", "xml")
            status, text, _ = await h.post(plain_query(), body)
            assert (status, text) == (400, "bad request")
            assert errors("wechat", "xml") == before + 1 and h.runner.received == []

    asyncio.run(scenario())


@pytest.mark.parametrize("inner", [XXE, BILLION_LAUGHS])
def test_hostile_inner_xml_is_answered_success_without_a_turn(inner):
    async def scenario():
        async with harness(encoding_aes_key=AES_KEY) as h:
            before = errors("wechat", "xml")
            status, text, _ = await h.post(*safe_request(inner))
            assert (status, text) == (200, "success")
            assert errors("wechat", "xml") == before + 1 and h.runner.received == []

    asyncio.run(scenario())


def test_oversize_body_gets_413():
    async def chunks():
        for _ in range(10):
            yield b"<xml>" + b"x" * 10_000

    async def scenario():
        async with harness(max_body_bytes=64 * 1024) as h:
            before = errors("wechat", "too_large")
            padded = text_xml().replace("</xml>", "<Pad>" + "x" * 70_000 + "</Pad></xml>")
            assert (await h.post(plain_query(), padded))[:2] == (413, "payload too large")
            streamed = await h.client.post(h.channel.path, params=plain_query(), data=chunks())  # no Content-Length
            assert streamed.status == 413
            assert errors("wechat", "too_large") == before + 2 and h.runner.received == []

    asyncio.run(scenario())


# --- deadline, customer-service API, retries -------------------------------------------------------------------------


def test_slow_turn_answers_success_then_one_customer_service_message():
    async def scenario():
        async with harness(runner=FakeRunner(delay=0.4), reply_deadline=0.1) as h:
            started = time.monotonic()
            status, body, content_type = await h.post(plain_query(), text_xml())
            assert (status, body) == (200, "success") and content_type.startswith("text/plain")
            assert time.monotonic() - started < 0.35
            assert h.api.sends == []
            await h.channel.close()
            assert h.api.tokens == [
                ("/cgi-bin/token", {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET})
            ]
            assert len(h.api.sends) == 1
            send = h.api.sends[0]
            assert send["path"] == "/cgi-bin/message/custom/send"
            assert send["query"] == {"access_token": "ACCESS-TOKEN-1"}
            assert json.loads(send["body"]) == {"touser": OPENID, "msgtype": "text", "text": {"content": REPLY}}
            assert REPLY.encode("utf-8") in send["body"]  # ensure_ascii=False, as WeChat expects
            assert send["content_type"] == "application/json; charset=utf-8"
            assert not h.channel._api.is_open

    asyncio.run(scenario())


def test_access_token_is_cached_between_replies():
    async def scenario():
        async with harness(runner=FakeRunner(delay=0.2), reply_deadline=0.05) as h:
            for msg_id in ("1", "2"):
                assert (await h.post(plain_query(), text_xml(msg_id=msg_id)))[1] == "success"
            await h.channel.close()
            assert len(h.api.tokens) == 1 and len(h.api.sends) == 2

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "errcodes, tokens, sends, failed",
    [
        ([42001], 2, 2, 0),
        ([40001], 2, 2, 0),
        ([42001, 42001], 2, 2, 1),  # refreshed once only
        ([45015], 1, 1, 1),  # outside the 48 h window: no retry
    ],
)
def test_api_errors(errcodes, tokens, sends, failed):
    async def scenario():
        async with harness(
            runner=FakeRunner(delay=0.15), api=FakeApi(send_errcodes=list(errcodes)), reply_deadline=0.05
        ) as h:
            before = errors("wechat", "api")
            await h.post(plain_query(), text_xml())
            await h.channel.close()
            assert (len(h.api.tokens), len(h.api.sends)) == (tokens, sends)
            assert [s["query"]["access_token"] for s in h.api.sends] == [f"ACCESS-TOKEN-{i + 1}" for i in range(sends)]
            assert errors("wechat", "api") == before + failed

    asyncio.run(scenario())


def test_fast_retries_get_the_same_passive_reply_and_one_turn():
    async def scenario():
        async with harness() as h:
            query, before = plain_query(), duplicates("wechat")
            replies = [await h.post(query, text_xml()) for _ in range(3)]
            assert all(r == replies[0] for r in replies) and replies[0][1] == A2["plaintext_reply"]
            assert len(h.runner.received) == 1 and duplicates("wechat") == before + 2
            await h.channel.close()
            assert h.api.sends == []

    asyncio.run(scenario())


def test_retries_of_a_slow_turn_never_reply_twice():
    async def scenario():
        async with harness(runner=FakeRunner(delay=0.3), reply_deadline=0.1) as h:
            before = duplicates("wechat")
            replies = [await h.post(plain_query(), text_xml()) for _ in range(3)]  # new nonce each retry
            assert [r[1] for r in replies] == ["success"] * 3
            await asyncio.sleep(0.4)  # the turn has finished: a late retry still gets success
            assert (await h.post(plain_query(), text_xml()))[1] == "success"
            await h.channel.close()
            assert len(h.runner.received) == 1 and len(h.api.sends) == 1
            assert duplicates("wechat") == before + 3

    asyncio.run(scenario())


def test_concurrent_retries_start_one_turn():
    async def scenario():
        async with harness(runner=FakeRunner(delay=0.3), reply_deadline=0.1) as h:
            replies = await asyncio.gather(*(h.post(plain_query(), text_xml()) for _ in range(3)))
            assert [r[1] for r in replies] == ["success"] * 3
            await h.channel.close()
            assert len(h.runner.received) == 1 and len(h.api.sends) == 1

    asyncio.run(scenario())


def test_retry_during_the_wait_shares_the_passive_reply():
    async def scenario():
        async with harness(runner=FakeRunner(delay=0.2), reply_deadline=2.0) as h:
            replies = await asyncio.gather(*(h.post(plain_query(), text_xml()) for _ in range(2)))
            assert replies[0] == replies[1] and replies[0][1] == A2["plaintext_reply"]
            await h.channel.close()
            assert len(h.runner.received) == 1 and h.api.sends == []

    asyncio.run(scenario())


def test_failed_turn_answers_success():
    async def scenario():
        async with harness(runner=FakeRunner(fail=True)) as h:
            before = errors("wechat", "turn")
            assert (await h.post(plain_query(), text_xml()))[:2] == (200, "success")
            assert errors("wechat", "turn") == before + 1

    asyncio.run(scenario())


def test_silent_turn_answers_success_and_sends_nothing():
    async def scenario():
        async with harness(runner=FakeRunner(reply="", delay=0.1), reply_deadline=0.05) as h:
            assert (await h.post(plain_query(), text_xml()))[1] == "success"
            await h.channel.close()
            assert h.api.sends == [] and h.api.tokens == []

    asyncio.run(scenario())


# --- events, other message types, buttons --------------------------------------------------------------------------


def test_subscribe_runs_the_greeting_once():
    async def scenario():
        async with harness(runner=FakeRunner(reply="欢迎！")) as h:
            query = plain_query()
            for _ in range(2):  # the retry of an event (same FromUserName + CreateTime) is answered, not re-run
                status, body, _ = await h.post(query, event_xml("subscribe"))
                assert status == 200 and parse_message(body).content == "欢迎！"
            assert [(m.text, m.metadata["event"]) for m in h.runner.received] == [("/greet", "subscribe")]
            await h.post(plain_query(), event_xml("subscribe", create_time=1700000060))  # a later re-subscribe
            assert len(h.runner.received) == 2

    asyncio.run(scenario())


def test_greeting_is_configurable():
    async def scenario():
        async with harness(greeting='/welcome{"source": "wechat"}') as h:
            await h.post(plain_query(), event_xml("subscribe"))
            assert h.runner.received[0].text == '/welcome{"source": "wechat"}'

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "xml",
    [
        event_xml("unsubscribe"),
        event_xml("LOCATION"),
        text_xml(msg_type="image"),
        (
            "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>voice</MsgType><MediaId>m</MediaId><MsgId>7</MsgId></xml>"
        ),  # voice without Recognition
        text_xml(content="  "),
    ],
)
def test_other_messages_answer_success_without_a_turn(xml):
    async def scenario():
        async with harness() as h:
            assert (await h.post(plain_query(), xml))[:2] == (200, "success")
            assert h.runner.received == []

    asyncio.run(scenario())


def test_voice_with_recognition_is_text():
    xml = (
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>voice</MsgType><MediaId>m</MediaId><Recognition><![CDATA[查订单]]></Recognition>"
        "<MsgId>8</MsgId></xml>"
    )

    async def scenario():
        async with harness() as h:
            _, body, _ = await h.post(plain_query(), xml)
            assert parse_message(body).content == REPLY
            assert [m.text for m in h.runner.received] == ["查订单"]

    asyncio.run(scenario())


BUTTONS = [
    {
        "text": "Which size?",
        "buttons": [
            {"title": "Small", "payload": '/choose{"size": "s"}'},
            {"title": "Large", "payload": '/choose{"size": "l"}'},
        ],
    },
    {"image": "https://example.com/sizes.png"},
]


def test_render_replies():
    assert render_replies(BUTTONS) == (
        "Which size?\n1. Small\n2. Large\nhttps://example.com/sizes.png",
        ['/choose{"size": "s"}', '/choose{"size": "l"}'],
    )
    assert render_replies([{"text": "a"}, {"text": "b", "custom": {"x": 1}}]) == ("a\nb", [])


def test_buttons_are_numbered_and_a_number_picks_the_payload():
    async def scenario():
        async with harness(runner=FakeRunner(messages=BUTTONS)) as h:
            _, body, _ = await h.post(plain_query(), text_xml("size?", msg_id="1"))
            assert parse_message(body).content == "Which size?\n1. Small\n2. Large\nhttps://example.com/sizes.png"
            await h.post(plain_query(), text_xml(" ２ ", msg_id="2"))  # full-width digit, as Chinese IMEs type it
            await h.post(plain_query(), text_xml("3", msg_id="3"))  # out of range: plain text
            h.runner.messages = [{"text": "ok"}]
            await h.post(plain_query(), text_xml("1", msg_id="4"))
            await h.post(plain_query(), text_xml("1", msg_id="5"))  # the last reply had no buttons
            assert [m.text for m in h.runner.received] == [
                "size?",
                '/choose{"size": "l"}',
                "3",
                '/choose{"size": "s"}',
                "1",
            ]

    asyncio.run(scenario())


# --- WeCom -----------------------------------------------------------------------------------------------------------


def test_wecom_published_message_vector():
    c4 = BY_ID["C4-tencent-wecom-sample-decrypt"]

    async def scenario():
        async with harness(
            "wecom",
            corp_id=c4["receive_id"],
            token=c4["token"],
            encoding_aes_key=c4["encoding_aes_key"],
            clock=lambda: int(c4["timestamp"]),
        ) as h:
            query = {"msg_signature": c4["expected_msg_signature"], "timestamp": c4["timestamp"], "nonce": c4["nonce"]}
            status, body, _ = await h.post(query, c4["post_body"])
            assert status == 200
            assert h.runner.received == [
                UserMessage(
                    "你好",
                    "ChenJiaShun",
                    "wecom",
                    metadata={
                        "to_user": "ww1436e0e65a779aee",
                        "msg_type": "text",
                        "msg_id": "1456453720",
                        "create_time": 1476422779,
                        "agent_id": "1000002",
                    },
                    via="wecom",
                )
            ]
            reply = parse_message(
                open_envelope(body, c4["token"], c4["timestamp"], c4["nonce"], c4["encoding_aes_key"], c4["receive_id"])
            )
            assert (reply.to_user, reply.from_user, reply.msg_type, reply.content) == (
                "ChenJiaShun",
                "ww1436e0e65a779aee",
                "text",
                REPLY,
            )

    asyncio.run(scenario())


def wecom_text(content: str = "你好", msg_id: str = "9001") -> str:
    return text_xml(content, msg_id=msg_id, sender="zhangsan", to=CORP_ID)


def test_wecom_slow_turn_uses_message_send():
    async def scenario():
        async with harness("wecom", runner=FakeRunner(delay=0.3), reply_deadline=0.1, clock=lambda: 1700000000) as h:
            query, body = safe_request(wecom_text(), receive_id=CORP_ID, key=WECOM_KEY, token=WECOM_TOKEN, wecom=True)
            assert (await h.post(query, body))[1] == "success"
            assert (await h.post(query, body))[1] == "success"  # retry
            await h.channel.close()
            assert h.api.tokens == [("/cgi-bin/gettoken", {"corpid": CORP_ID, "corpsecret": CORP_SECRET})]
            assert [(s["path"], s["query"]) for s in h.api.sends] == [
                ("/cgi-bin/message/send", {"access_token": "ACCESS-TOKEN-1"})
            ]
            assert json.loads(h.api.sends[0]["body"]) == {
                "touser": "zhangsan",
                "msgtype": "text",
                "agentid": AGENT_ID,
                "text": {"content": REPLY},
                "safe": 0,
            }
            assert len(h.runner.received) == 1

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "receive_id, token, kind",
    [
        ("ww0000000000000000", WECOM_TOKEN, "receive_id"),  # another corp's message under our key
        (CORP_ID, "other_token", "signature"),
    ],
)
def test_wecom_post_rejections(receive_id, token, kind):
    async def scenario():
        async with harness("wecom", clock=lambda: 1700000000) as h:
            before = errors("wecom", kind)
            query, body = safe_request(wecom_text(), receive_id=receive_id, key=WECOM_KEY, token=token, wecom=True)
            assert (await h.post(query, body))[:2] == (403, "forbidden")
            assert errors("wecom", kind) == before + 1 and h.runner.received == []

    asyncio.run(scenario())


def test_wecom_has_no_plaintext_mode():
    async def scenario():
        async with harness("wecom", clock=lambda: 1700000000) as h:
            nonce = str(next(_nonces))
            query = {
                "signature": signature(WECOM_TOKEN, "1700000000", nonce),
                "timestamp": "1700000000",
                "nonce": nonce,
            }
            status, _, _ = await h.post(query, wecom_text())
            assert status in (400, 403) and h.runner.received == []

    asyncio.run(scenario())


# --- configuration and secrets ---------------------------------------------------------------------------------------


def test_from_credentials():
    wechat = WeChatChannel.from_credentials(
        {
            "app_id": APP_ID,
            "app_secret": APP_SECRET,
            "token": TOKEN,
            "encoding_aes_key": AES_KEY,
            "api_url": "http://127.0.0.1:9/",
            "reply_deadline": "3.5",
            "greeting": "/hello",
        }
    )
    assert (wechat.name, wechat.path, wechat.app_id, wechat.api_url) == (
        "wechat",
        "/webhooks/wechat",
        APP_ID,
        "http://127.0.0.1:9",
    )
    assert (wechat.reply_deadline, wechat.greeting) == (3.5, "/hello")
    plain = WeChatChannel.from_credentials({"app_id": APP_ID, "app_secret": APP_SECRET, "token": 123456})
    assert (plain.api_url, plain.reply_deadline, plain.greeting, plain.token) == (
        "https://api.weixin.qq.com",
        4.0,
        "/greet",
        "123456",
    )
    wecom = WeComChannel.from_credentials(
        {
            "corp_id": CORP_ID,
            "corp_secret": CORP_SECRET,
            "agent_id": AGENT_ID,
            "token": WECOM_TOKEN,
            "encoding_aes_key": WECOM_KEY,
        }
    )
    assert (wecom.name, wecom.path, wecom.agent_id, wecom.api_url) == (
        "wecom",
        "/webhooks/wecom",
        AGENT_ID,
        "https://qyapi.weixin.qq.com",
    )
    assert {route.method for route in wecom.routes(FakeRunner())} == {"GET", "POST"}


@pytest.mark.parametrize(
    "cls, credentials, named",
    [
        (WeChatChannel, {"app_id": APP_ID, "token": TOKEN}, ["app_secret"]),
        (WeChatChannel, {"app_secret": APP_SECRET}, ["app_id", "token"]),
        (WeChatChannel, None, ["app_id", "app_secret", "token"]),
        (
            WeChatChannel,
            {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "encoding_aes_key": "x" + APP_SECRET},
            ["encoding_aes_key"],
        ),
        (
            WeChatChannel,
            {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "reply_deadline": 6},
            ["reply_deadline"],
        ),
        (
            WeChatChannel,
            {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "reply_deadline": "soon"},
            ["reply_deadline"],
        ),
        (
            WeComChannel,
            {"corp_id": CORP_ID, "corp_secret": CORP_SECRET, "agent_id": 1, "token": WECOM_TOKEN},
            ["encoding_aes_key"],
        ),
        (
            WeComChannel,
            {"corp_id": CORP_ID, "agent_id": 1, "token": WECOM_TOKEN, "encoding_aes_key": WECOM_KEY},
            ["corp_secret"],
        ),
        (
            WeComChannel,
            {
                "corp_id": CORP_ID,
                "corp_secret": CORP_SECRET,
                "agent_id": "app",
                "token": WECOM_TOKEN,
                "encoding_aes_key": WECOM_KEY,
            },
            ["agent_id"],
        ),
    ],
)
def test_bad_credentials_name_the_key_not_the_secret(cls, credentials, named):
    with pytest.raises(AgentError) as error:
        cls.from_credentials(credentials)
    message = str(error.value)
    assert "credentials.yml" in message and all(key in message for key in named)
    assert APP_SECRET not in message and CORP_SECRET not in message and TOKEN not in message


def test_secrets_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    leaky = f"invalid credential, access_token is ACCESS-TOKEN-1, secret {APP_SECRET} token {TOKEN}"

    async def scenario():
        async with harness(
            encoding_aes_key=AES_KEY,
            runner=FakeRunner(delay=0.15),
            reply_deadline=0.05,
            api=FakeApi(send_errcodes=[45015], errmsg=leaky),
        ) as h:
            await h.post({**SAFE_QUERY, "msg_signature": "0" * 40}, A1["post_body"])  # forged
            await h.post(*safe_request(text_xml(msg_id="77")))  # slow: goes to the API, which fails
            await h.channel.close()
            assert len(h.api.sends) == 1
        async with harness(runner=FakeRunner(fail=True)) as h:
            await h.post(plain_query(), text_xml())

    asyncio.run(scenario())
    assert "refused a request (signature)" in caplog.text and "errcode=45015" in caplog.text
    assert "turn failed" in caplog.text
    for secret in (APP_SECRET, TOKEN, AES_KEY, "ACCESS-TOKEN-1"):
        assert secret not in caplog.text


@pytest.mark.parametrize("kind", ["wechat", "wecom"])
def test_a_persons_message_during_a_handoff_goes_through_the_customer_service_api(kind):
    async def scenario():
        async with harness(kind) as h:
            sent = await h.channel.push(OPENID, [{"recipient_id": OPENID, "text": "Hi, Alice here"}])
            assert sent and len(h.api.sends) == 1
            assert json.loads(h.api.sends[0]["body"])["touser"] == OPENID
            assert "Hi, Alice here" in h.api.sends[0]["body"].decode()

    asyncio.run(scenario())


def test_a_persons_message_outside_the_48_hour_window_is_reported_undelivered():
    async def scenario():
        async with harness(api=FakeApi(send_errcodes=[45015])) as h:
            assert not await h.channel.push(OPENID, [{"recipient_id": OPENID, "text": "too late"}])

    asyncio.run(scenario())


def kf_event_xml(event: str, agent_field: str, agent: str, create_time: int) -> str:
    return event_xml(event, create_time=create_time).replace(
        "</xml>", f"<{agent_field}><![CDATA[{agent}]]></{agent_field}></xml>"
    )


def test_a_handoff_goes_to_wechat_customer_service_and_its_sessions_are_mirrored(tmp_path):
    """kf_transfer: the passive reply hands the message to 多客服 (the bot's words go by API), later
    messages while queued are transferred again, kf session events say who has the chat, and after
    kf_close_session the bot answers again (HANDOFF_AND_EVENTS.md section 1)."""
    from agent.bot.handoff_settings import HandoffSettings
    from agent.server.runner import AgentRunner
    from tests.test_handoff_api import _agent

    runner = AgentRunner(_agent(tmp_path, HandoffSettings()))

    async def state():
        tracker = await runner.agent.processor.store.retrieve(OPENID, runner.agent.domain)
        return tracker.state.handoff

    async def scenario():
        async with harness(runner=runner, kf_transfer=True) as h:
            asked = await h.post(plain_query(), text_xml("/talk_to_human", msg_id="1"))
            await h.channel.background.drain()
            spoken = [json.loads(s["body"])["text"]["content"] for s in h.api.sends]
            again = await h.post(plain_query(), text_xml("还有人吗", msg_id="2"))
            await h.post(plain_query(), kf_event_xml("kf_create_session", "KfAccount", "agent01@gh", 1700000010))
            await h.channel.background.drain()
            accepted = await state()
            await h.post(plain_query(), kf_event_xml("kf_switch_session", "ToKfAccount", "agent02@gh", 1700000020))
            await h.channel.background.drain()
            switched = await state()
            await h.post(plain_query(), kf_event_xml("kf_close_session", "KfAccount", "agent02@gh", 1700000030))
            await h.channel.background.drain()
            back = await h.post(plain_query(), text_xml("/greet", msg_id="3"))
            return asked, spoken, again, accepted, switched, back, len(h.api.sends)

    asked, spoken, again, accepted, switched, back, sends = asyncio.run(scenario())
    assert asked[0] == 200 and "transfer_customer_service" in asked[1] and f"<![CDATA[{OPENID}]]>" in asked[1]
    assert spoken == ["A person will join shortly."]  # the bot's words went by the customer-service API
    assert "transfer_customer_service" in again[1]  # still queued: into the same queue
    assert (accepted.status, accepted.agent) == ("human", "agent01@gh")
    assert (switched.status, switched.agent) == ("human", "agent02@gh")
    assert "transfer_customer_service" not in back[1] and "Hello!" in back[1] and sends == 1


def test_without_kf_transfer_a_handoff_is_an_ordinary_reply(tmp_path):
    from agent.bot.handoff_settings import HandoffSettings
    from agent.server.runner import AgentRunner
    from tests.test_handoff_api import _agent

    runner = AgentRunner(_agent(tmp_path, HandoffSettings()))

    async def scenario():
        async with harness(runner=runner) as h:
            return await h.post(plain_query(), text_xml("/talk_to_human", msg_id="1"))

    status, body, _ = asyncio.run(scenario())
    assert "transfer_customer_service" not in body and "A person will join shortly." in body
