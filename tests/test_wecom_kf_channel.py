"""WeCom 微信客服 against a local stand-in for qyapi (HANDOFF_AND_EVENTS.md section 2): the doorbell
callback, kf/sync_msg paging, the bot claiming new sessions (state 0 -> 1) before answering, the handoff
to WeCom's queue (-> 2), and WeCom's own session changes and agents' messages mirrored, so the bot never
talks over a person."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.wecom_kf import WeComKfChannel
from agent.server.runner import AgentRunner
from tests.test_handoff_api import _agent
from tests.test_wechat_channel import CORP_ID, WECOM_KEY, WECOM_TOKEN, safe_request

KF, USER, NOW = "wkKF0001", "wmCUSTOMER01", 1_700_000_000
SENDER = f"{KF}:{USER}"


class FakeQyApi:
    def __init__(self):
        self.pages: list[dict] = []
        self.state = 0
        self.sent: list[dict] = []
        self.trans: list[int] = []
        self.syncs: list[dict] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self.token)
        app.router.add_post("/cgi-bin/kf/{what:.+}", self.kf)
        return app

    async def token(self, request: web.Request) -> web.Response:
        return web.json_response({"access_token": "AT", "expires_in": 7200})

    async def kf(self, request: web.Request) -> web.Response:
        what, body = request.match_info["what"], json.loads(await request.read())
        if what == "sync_msg":
            self.syncs.append(body)
            page = self.pages.pop(0) if self.pages else {"msg_list": [], "has_more": 0}
            return web.json_response({"errcode": 0, "next_cursor": f"c{len(self.syncs)}", **page})
        if what == "service_state/get":
            return web.json_response({"errcode": 0, "service_state": self.state, "servicer_userid": ""})
        if what == "service_state/trans":
            self.trans.append(body["service_state"])
            self.state = body["service_state"]
            return web.json_response({"errcode": 0, "msg_code": "MSG_CODE"})
        if what == "send_msg":
            if self.state not in (0, 1):
                return web.json_response({"errcode": 95018, "errmsg": "send msg session status invalid"})
            self.sent.append(body)
            return web.json_response({"errcode": 0, "msgid": "m"})
        return web.json_response({"errcode": 404})


def customer(msgid: str, text: str, send_time: int = NOW, **extra) -> dict:
    return {
        "msgid": msgid,
        "open_kfid": KF,
        "external_userid": USER,
        "send_time": send_time,
        "origin": 3,
        "msgtype": "text",
        "text": {"content": text},
        **extra,
    }


def session_change(msgid: str, change_type: int, **fields) -> dict:
    event = {
        "event_type": "session_status_change",
        "open_kfid": KF,
        "external_userid": USER,
        "change_type": change_type,
    }
    return {"msgid": msgid, "send_time": NOW, "origin": 4, "msgtype": "event", "event": {**event, **fields}}


def doorbell(token: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><CreateTime>{NOW}</CreateTime>"
        f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{KF}]]></OpenKfId></xml>"
    )


def run(scenario, tmp_path):
    async def go():
        qyapi = FakeQyApi()
        async with TestServer(qyapi.app()) as api:
            channel = WeComKfChannel(
                CORP_ID, "kf-secret", WECOM_TOKEN, WECOM_KEY, api_url=str(api.make_url("")), clock=lambda: NOW
            )
            runner = AgentRunner(_agent(tmp_path, HandoffSettings()))
            app = web.Application()
            app.add_routes(channel.routes(runner))
            async with TestClient(TestServer(app)) as client:
                rings = iter(range(1, 100))

                async def ring(*pages: dict) -> None:
                    """A doorbell with a fresh sync token (each callback brings its own)."""
                    qyapi.pages.extend(pages)
                    token = f"T{next(rings)}"
                    query, body = safe_request(doorbell(token), CORP_ID, WECOM_KEY, WECOM_TOKEN, str(NOW), wecom=True)
                    resp = await client.post(channel.path, params=query, data=body)
                    assert (resp.status, await resp.text()) == (200, "success")
                    await channel.background.drain()

                async def handoff():
                    tracker = await runner.agent.processor.store.retrieve(SENDER, runner.agent.domain)
                    return tracker.state.handoff

                try:
                    return await scenario(ring, qyapi, handoff)
                finally:
                    await channel.close()

    return asyncio.run(go())


def texts(sent: list[dict]) -> list[str]:
    return [m["text"]["content"] for m in sent if m["msgtype"] == "text"]


def test_the_bot_claims_the_session_answers_hands_over_and_mirrors_wecoms_agents(tmp_path):
    async def scenario(ring, qyapi, handoff):
        out = {}
        await ring({"msg_list": [customer("m1", "/greet")], "has_more": 0})
        out["greeted"] = (texts(qyapi.sent), list(qyapi.trans))
        await ring({"msg_list": [customer("m2", "/talk_to_human")], "has_more": 0})
        out["handed"] = (texts(qyapi.sent)[1:], list(qyapi.trans), (await handoff()).status)
        await ring({"msg_list": [session_change("e1", 1, new_servicer_userid="zhangsan")], "has_more": 0})
        state = await handoff()
        out["taken"] = (state.status, state.agent)
        before = len(qyapi.sent)
        await ring({"msg_list": [customer("m3", "还在吗")], "has_more": 0})
        out["silent"] = qyapi.sent[before:]
        await ring({"msg_list": [session_change("e2", 3, old_servicer_userid="zhangsan")], "has_more": 0})
        out["ended"] = (await handoff()).status
        qyapi.state = 0  # a customer message after the end starts a new session
        await ring({"msg_list": [customer("m4", "/greet")], "has_more": 0})
        out["back"] = (texts(qyapi.sent)[before:], qyapi.trans[-1])
        return out

    out = run(scenario, tmp_path)
    assert out["greeted"] == (["Hello!"], [1])  # state 0 claimed for the bot (1) before answering
    assert out["handed"] == (["A person will join shortly."], [1, 2], "queued")  # then into WeCom's queue
    assert out["taken"] == ("human", "zhangsan")
    assert out["silent"] == []
    assert out["ended"] == "bot"
    assert out["back"] == (["Hello!"], 1)


def test_an_agent_typing_in_wecom_takes_the_conversation(tmp_path):
    async def scenario(ring, qyapi, handoff):
        await ring({"msg_list": [customer("m1", "/greet")], "has_more": 0})
        agent_msg = {**customer("m2", "我来处理"), "origin": 5, "servicer_userid": "lisi"}
        await ring({"msg_list": [agent_msg], "has_more": 0})
        before = len(qyapi.sent)
        await ring({"msg_list": [customer("m3", "/greet")], "has_more": 0})
        return await handoff(), qyapi.sent[before:]

    state, sent = run(scenario, tmp_path)
    assert (state.status, state.agent) == ("human", "lisi") and sent == []


def test_sync_pages_on_has_more_and_answers_each_message_once(tmp_path):
    async def scenario(ring, qyapi, handoff):
        await ring(
            {"msg_list": [], "has_more": 1},  # has_more can come with an empty page
            {"msg_list": [customer("m1", "/greet"), customer("m1", "/greet")], "has_more": 0},
        )
        await ring({"msg_list": [customer("m1", "/greet")], "has_more": 0})  # redelivered later
        return qyapi.syncs, texts(qyapi.sent)

    syncs, sent = run(scenario, tmp_path)
    assert [s["cursor"] for s in syncs] == ["", "c1", "c2"] and syncs[0]["token"] == "T1" and syncs[2]["token"] == "T2"
    assert sent == ["Hello!"]


def test_a_first_sync_after_a_start_does_not_answer_old_messages(tmp_path):
    async def scenario(ring, qyapi, handoff):
        await ring({"msg_list": [customer("old", "/greet", send_time=NOW - 3600), customer("new", "/greet")]})
        return texts(qyapi.sent)

    assert run(scenario, tmp_path) == ["Hello!"]  # only the message sent around the start


def test_buttons_become_a_menu_whose_taps_come_back_as_payloads():
    from agent.channels.wecom_kf import _customer_text, _kf_message

    body = _kf_message({"text": "请选择", "buttons": [{"title": "查订单", "payload": "/order_status"}]})
    assert body == {
        "msgtype": "msgmenu",
        "msgmenu": {
            "head_content": "请选择",
            "list": [{"type": "click", "click": {"id": "/order_status", "content": "查订单"}}],
        },
    }
    tap = {"msgtype": "text", "text": {"content": "查订单", "menu_id": "/order_status"}}
    assert _customer_text(tap) == "/order_status"


def test_credentials_name_every_missing_key():
    import pytest

    from agent.errors import AgentError

    with pytest.raises(AgentError) as missing:
        WeComKfChannel.from_credentials({"corp_id": CORP_ID, "token": WECOM_TOKEN})
    assert "secret" in str(missing.value) and "encoding_aes_key" in str(missing.value)
    channel = WeComKfChannel.from_credentials(
        {"corp_id": CORP_ID, "secret": "s", "token": WECOM_TOKEN, "encoding_aes_key": WECOM_KEY}
    )
    assert (channel.name, channel.path) == ("wecom_kf", "/webhooks/wecom_kf")
