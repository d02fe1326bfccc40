"""WeCom 微信客服 (kf): WeChat users write to a kf account; the bot answers while WeCom says the
session is new or the bot's (service_state 0/1), hands the customer to WeCom's queue on handoff
(`service_state/trans` to 2), and mirrors what WeCom's own agents do: taking, transferring and
ending sessions (`session_status_change`) and messages they type in WeCom (`origin` 5).

Wire facts: shared/connectors/HANDOFF_AND_EVENTS.md section 2. The callback (WeCom crypto, as the
`wecom` channel) is only a doorbell: content is pulled with `kf/sync_msg`, page by page, one sync at a
time per kf account, de-duplicated by msgid. The sync cursor is kept in memory: a sync without one
(the first after a start) gets up to WeCom's last 3 days, of which only customer messages sent from
`REPLAY_WINDOW_S` before the start on are answered (older ones were answered before the restart, or are
too old to answer now); WeCom's session events are always applied.

    wecom_kf:
      corp_id: ww...
      secret: ${WECOM_KF_SECRET}     # a self-built app allowed to call 微信客服
      token: ...
      encoding_aes_key: ...
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from agent.channels.base import BotMessage, Deduplicator, ExpiringMap, TurnRunner
from agent.channels.wechat import WeComChannel
from agent.channels.wechat_api import WECOM_API, WeChatApiError, json_body
from agent.channels.wechat_protocol import SUCCESS, SignedRequest, required_credentials
from agent.channels.wechat_xml import WeChatMessage
from agent.core.processor import UserMessage
from agent.metrics import CHANNEL_ERRORS

log = logging.getLogger(__name__)

NEW, BOT, QUEUE, HUMAN, ENDED = 0, 1, 2, 3, 4  # WeCom's service_state
CUSTOMER, SYSTEM, AGENT = 3, 4, 5  # a message's origin
SESSION_WINDOW_S = 48 * 3600.0  # how long WeCom keeps a session the bot's
SESSION_INVALID = 95018  # send_msg outside states 0/1
TAKEN, TRANSFERRED, ENDED_BY_AGENT, REENGAGED = 1, 2, 3, 4  # session_status_change change_type
MAX_CLICK_ID_BYTES = 128
SYNC_LIMIT = 1000
REPLAY_WINDOW_S = 300.0


class WeComKfChannel(WeComChannel):
    name = "wecom_kf"
    path = "/webhooks/wecom_kf"

    def __init__(
        self, corp_id: str, secret: str, token: str, encoding_aes_key: str, *, api_url: str = WECOM_API, **options: Any
    ):
        super().__init__(corp_id, secret, 0, token, encoding_aes_key, api_url=api_url, **options)
        self._cursors: dict[str, str] = {}
        self._syncing: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._seen = Deduplicator(ttl=SESSION_WINDOW_S)
        self._bot_sessions: ExpiringMap[bool] = ExpiringMap(ttl=SESSION_WINDOW_S)  # sender -> WeCom says bot
        self._started = self.clock()

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WeComKfChannel:
        keys = required_credentials(credentials, cls.name, ("corp_id", "secret", "token", "encoding_aes_key"))
        extra = {"api_url": str(credentials["api_url"])} if credentials and credentials.get("api_url") else {}
        return cls(keys["corp_id"], keys["secret"], keys["token"], keys["encoding_aes_key"], **extra)

    # ------------------------------------------------------------------ the doorbell

    async def _dispatch(self, message: WeChatMessage, runner: TurnRunner, request: SignedRequest) -> web.Response:
        if message.msg_type == "event" and message.event == "kf_msg_or_event":
            token, kf = message.fields.get("Token", "").strip(), message.fields.get("OpenKfId", "").strip()
            if self.dedupe.first_time(f"kf:{token}:{kf}:{message.create_time}"):
                self.background.spawn(self.sync(runner, token, kf))
        return web.Response(text=SUCCESS, content_type="text/plain")

    async def sync(self, runner: TurnRunner, token: str, open_kfid: str) -> None:
        """Pull everything new for the kf account and act on it, in order (loops on has_more)."""
        async with self._syncing[open_kfid]:
            more, replaying = True, open_kfid not in self._cursors
            while more:
                body: dict[str, Any] = {"cursor": self._cursors.get(open_kfid, ""), "limit": SYNC_LIMIT}
                if token:
                    body["token"] = token
                if open_kfid:
                    body["open_kfid"] = open_kfid
                try:
                    page = await self._api.post("/cgi-bin/kf/sync_msg", json_body(body))
                except Exception as error:
                    self._failed("sync_msg", error)
                    return
                for item in page.get("msg_list") or []:
                    try:
                        await self._on_item(runner, item, replaying)
                    except Exception:
                        CHANNEL_ERRORS.labels(channel=self.name, kind="turn").inc()
                        log.exception("%s: could not handle message %s", self.name, str(item.get("msgid"))[:40])
                self._cursors[open_kfid] = str(page.get("next_cursor") or self._cursors.get(open_kfid, ""))
                more = page.get("has_more") == 1

    # ------------------------------------------------------------------ messages and events

    async def _on_item(self, runner: TurnRunner, item: dict, replaying: bool = False) -> None:
        msgid = str(item.get("msgid") or "")
        if not msgid or not self._seen.first_time(msgid):
            return
        if item.get("msgtype") == "event":
            await self._on_event(runner, item.get("event") or {})
            return
        kf, user = str(item.get("open_kfid") or ""), str(item.get("external_userid") or "")
        sender = f"{kf}:{user}"
        if item.get("origin") == AGENT:  # a person typed in WeCom: they have the conversation
            self._bot_sessions.pop(sender)
            await runner.mirror_handoff(sender, True, str(item.get("servicer_userid") or "") or None, by=self.name)
            return
        text = _customer_text(item)
        if item.get("origin") != CUSTOMER or not text or not (kf and user):
            return
        sent = item.get("send_time")
        if replaying and isinstance(sent, (int, float)) and sent < self._started - REPLAY_WINDOW_S:
            return  # from before this process started: answered then, or too old to answer now
        result = await runner.turn(UserMessage(text, sender, self.name, message_id=msgid, via=self.name))
        if not result.messages:  # a person has (or is about to have) the conversation
            return
        if not await self._bots_session(runner, kf, user):
            return  # WeCom gave the customer to people meanwhile: never talk over them
        for message in result.messages:
            await self._send(kf, user, message)
        if result.handoff.get("status") in ("queued", "human"):
            self._bot_sessions.pop(sender)
            await self._call("service_state/trans", {"open_kfid": kf, "external_userid": user, "service_state": QUEUE})

    async def _on_event(self, runner: TurnRunner, event: dict) -> None:
        if event.get("event_type") != "session_status_change":
            return
        kf, user = str(event.get("open_kfid") or ""), str(event.get("external_userid") or "")
        sender, change = f"{kf}:{user}", event.get("change_type")
        self._bot_sessions.pop(sender)
        if change == ENDED_BY_AGENT:
            await runner.mirror_handoff(sender, False, by=self.name)
        elif change in (TAKEN, TRANSFERRED, REENGAGED):
            agent = str(event.get("new_servicer_userid") or "") or None
            await runner.mirror_handoff(sender, True, agent, by=self.name)

    async def _bots_session(self, runner: TurnRunner, kf: str, user: str) -> bool:
        """Whether WeCom lets the bot answer (state 0 is claimed for the bot first, as WeCom asks); a
        session with people is mirrored into the conversation instead."""
        sender = f"{kf}:{user}"
        if self._bot_sessions.get(sender):
            return True
        ids = {"open_kfid": kf, "external_userid": user}
        state = await self._call("service_state/get", ids)
        if state is None:
            return False
        current = state.get("service_state")
        if current == NEW:
            if await self._call("service_state/trans", {**ids, "service_state": BOT}) is None:
                return False
            current = BOT
        if current == BOT:
            self._bot_sessions.put(sender, True)
            return True
        if current in (QUEUE, HUMAN):
            await runner.mirror_handoff(sender, True, str(state.get("servicer_userid") or "") or None, by=self.name)
        return False

    # ------------------------------------------------------------------ outbound

    async def _send(self, kf: str, user: str, message: BotMessage) -> bool:
        body = _kf_message(message)
        if body is None:
            return True
        return await self._call("send_msg", {"touser": user, "open_kfid": kf, **body}) is not None

    async def push(self, sender_id: str, messages: list[BotMessage]) -> bool:
        """People answer in WeCom itself (send_msg is refused while they have the session)."""
        return False

    async def _call(self, what: str, payload: dict) -> dict | None:
        try:
            return await self._api.post(f"/cgi-bin/kf/{what}", json_body(payload))
        except Exception as error:
            if isinstance(error, WeChatApiError) and error.errcode == SESSION_INVALID:
                user = payload.get("external_userid") or payload.get("touser")
                self._bot_sessions.pop(f"{payload.get('open_kfid')}:{user}")
            self._failed(what, error)
            return None

    def _failed(self, what: str, error: Exception) -> None:
        kind = error.kind if isinstance(error, WeChatApiError) else "api_network"
        CHANNEL_ERRORS.labels(channel=self.name, kind=kind).inc()
        detail = self._api.redact(error.errcode) if isinstance(error, WeChatApiError) else type(error).__name__
        log.warning("%s: kf/%s failed (%s)", self.name, what, detail)


def _customer_text(item: dict) -> str:
    """A customer's text; a tap on one of our menu items carries the button's payload as its id."""
    if item.get("msgtype") != "text":
        return ""
    text = item.get("text") or {}
    return str(text.get("menu_id") or text.get("content") or "").strip()


def _kf_message(message: BotMessage) -> dict | None:
    """A bot message as kf/send_msg's body: text, or a menu (msgmenu) for buttons."""
    text = str(message.get("text") or "")
    if message.get("image"):
        text = f"{text}\n{message['image']}".strip()
    buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict) and b.get("title")]
    if buttons:
        items = []
        for button in buttons:
            payload = str(button.get("payload") or button["title"])
            if len(payload.encode()) <= MAX_CLICK_ID_BYTES:
                items.append({"type": "click", "click": {"id": payload, "content": str(button["title"])}})
            else:
                items.append({"type": "text", "text": {"content": str(button["title"])}})
        return {"msgtype": "msgmenu", "msgmenu": {"head_content": text, "list": items}}
    return {"msgtype": "text", "text": {"content": text}} if text else None
