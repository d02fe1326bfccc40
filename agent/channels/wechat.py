"""WeChat Official Account (`wechat`) and WeCom / 企业微信 (`wecom`) webhook channels (PROTOCOLS.md §2).

Both platforms speak one callback protocol: a SHA-1 signed query, XML bodies, optional AES "safe mode"
envelopes, a 5 s deadline for the passive reply and an access-token API for later replies.
`_WeChatFamilyChannel` implements it once; the subclasses only say how a request is authenticated and which
API sends a late reply.

Behaviour chosen here:
- Deadline: every turn runs as a background task and the request waits for it up to `reply_deadline`
  (default 4 s, under WeChat's 5 s). Done in time: the bot's text is the passive reply (encrypted when the
  request was). Otherwise the answer is `success` and the text goes out through the customer-service API
  (WeCom: message/send) when the turn ends. That choice is made once per message.
- Retries (MsgId, or FromUserName+CreateTime+Event+EventKey for events) never start a turn. While the
  choice is open a retry waits like the first request; after a passive reply it gets the same reply again
  (WeChat only shows the response of the connection it still holds, so the user sees it once); once the
  reply went to the API it gets `success`.
- All bot messages of a turn become one text: texts, images as their URL, buttons as numbered lines
  "1. title". A reply that is just such a number (full-width digits too) sends that button's payload.
- `subscribe` runs a turn with the configured `greeting` (default "/greet", Rasa payload syntax). Voice with
  a `Recognition` transcript counts as text. Everything else is answered `success` without a turn.
- With an EncodingAESKey configured, WeChat plaintext POSTs are refused: plaintext mode signs only the
  query, so a leaked URL could carry any body.

This module is the HTTP side only (aiohttp handlers, turn and reply state); the wire format lives in
`wechat_protocol` (with `wechat_xml` and `wechat_crypto`), the outbound API client in `wechat_api`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web
from multidict import MultiMapping

from agent.channels.base import BotMessage, Channel, Deduplicator, ExpiringMap, TurnRunner
from agent.channels.wechat_api import WECHAT_API, WECOM_API, WeChatApiClient, WeChatApiError, json_body
from agent.channels.wechat_crypto import WeChatCryptoError, aes_key, check_signature, decrypt_message
from agent.channels.wechat_protocol import (
    REASONS,
    SUCCESS,
    Envelope,
    Rejected,
    SignedRequest,
    channel_options,
    dedupe_key,
    fresh_timestamp_nonce,
    message_metadata,
    pick_button,
    query_param,
    render_passive_reply,
    render_replies,
    required_credentials,
    seal,
)
from agent.channels.wechat_xml import (
    WeChatMessage,
    WeChatXmlError,
    parse_fields,
    parse_message,
    render_transfer_reply,
)
from agent.core.processor import UserMessage
from agent.errors import Errors
from agent.metrics import CHANNEL_ERRORS, DUPLICATES

log = logging.getLogger(__name__)

PASSIVE_REPLY_LIMIT_S = 5.0  # WeChat drops a passive reply after this long
KF_SESSION_EVENTS = ("kf_create_session", "kf_switch_session", "kf_close_session")
DEFAULT_REPLY_DEADLINE_S = 4.0
DEFAULT_GREETING = "/greet"
DEFAULT_MAX_CLOCK_SKEW_S = 300.0
MAX_BODY_BYTES = 64 * 1024
MAX_IN_FLIGHT = 1000
DELIVERY_TTL_S = 600.0  # how long retries of a message find its turn
CHOICES_TTL_S = 3600.0  # how long a numbered answer can still pick a button
NONCE_TTL_WITHOUT_SKEW_S = 3600.0  # remembered nonces when timestamps are not checked
MAX_NONCES = 100_000
RANDOM_PREFIX_BYTES = 16  # the random bytes that open every safe-mode envelope


@dataclass
class _Delivery:
    """One inbound message's turn and how its reply leaves; retries share it."""

    user: str  # the sender, who gets the reply
    account: str  # our account (inbound ToUserName), the passive reply's FromUserName
    task: asyncio.Task[str] | None = None  # resolves to the reply text ("" for none)
    passive: bool | None = None  # None until the first request's wait decides
    transfer: bool = False  # a person has (or is about to have) the chat: hand the message to 多客服
    spoken: bool = False  # the reply text went by the customer-service API beside a transfer


def _result(task: asyncio.Task[str]) -> str:
    """A finished turn's reply text; "" while running or when cancelled."""
    return task.result() if task.done() and not task.cancelled() else ""


def _text_response(text: str, status: int = HTTPStatus.OK) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


def _random16() -> bytes:
    return os.urandom(RANDOM_PREFIX_BYTES)


class _WeChatFamilyChannel(Channel):
    """The callback protocol shared by WeChat and WeCom; subclasses authenticate and pick the send API."""

    path: str
    kf_transfer = False  # WeChat's 多客服 handoff (WeChatChannel only)

    def __init__(
        self,
        *,
        token: str,
        encoding_aes_key: str | None,
        receive_id: str,
        secret: str,
        api_url: str,
        reply_deadline: float = DEFAULT_REPLY_DEADLINE_S,
        greeting: str = DEFAULT_GREETING,
        max_clock_skew: float | None = DEFAULT_MAX_CLOCK_SKEW_S,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_in_flight: int = MAX_IN_FLIGHT,
        clock: Callable[[], float] = time.time,
        random16: Callable[[], bytes] | None = None,
    ):
        super().__init__()
        self._check_deadline(reply_deadline)
        self._aes_key = self._load_aes_key(encoding_aes_key)
        self.token, self.receive_id, self._secret = token, receive_id, secret
        self.reply_deadline, self.greeting, self.max_clock_skew = reply_deadline, greeting, max_clock_skew
        self.max_body_bytes, self.max_in_flight = max_body_bytes, max_in_flight
        self.clock = clock
        self._random16 = random16 or _random16
        self.dedupe = Deduplicator()
        self._deliveries: ExpiringMap[_Delivery] = ExpiringMap(ttl=DELIVERY_TTL_S)
        self._nonces: ExpiringMap[str] = ExpiringMap(
            ttl=2 * (max_clock_skew or NONCE_TTL_WITHOUT_SKEW_S), max_items=MAX_NONCES
        )
        self._choices: ExpiringMap[list[str]] = ExpiringMap(ttl=CHOICES_TTL_S)
        self._api = WeChatApiClient(api_url, self._token_request, (secret, token))

    def _check_deadline(self, reply_deadline: float) -> None:
        if not 0 < reply_deadline < PASSIVE_REPLY_LIMIT_S:
            raise Errors.WECHAT_REPLY_DEADLINE.error(channel=self.name)

    def _load_aes_key(self, encoding_aes_key: str | None) -> bytes | None:
        try:
            return aes_key(encoding_aes_key) if encoding_aes_key else None
        except ValueError:
            raise Errors.WECHAT_AES_KEY.error(channel=self.name) from None

    @property
    def api_url(self) -> str:
        return self._api.api_url

    # --- what differs between WeChat and WeCom -------------------------------------------------------

    @abstractmethod
    def _verify_url(self, query: MultiMapping[str], timestamp: str, nonce: str) -> bytes:
        """The body that proves we own the URL (GET verification); raises on a bad request."""
        ...

    @abstractmethod
    def _open(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> tuple[bytes, bool]:
        """The authenticated message XML and whether it came encrypted."""
        ...

    @abstractmethod
    def _token_request(self) -> tuple[str, dict[str, str]]:
        """Path and query of the access-token call."""
        ...

    @abstractmethod
    def _send_request(self, user: str, text: str) -> tuple[str, dict[str, Any]]:
        """Path and JSON body that send `text` to `user` outside the passive reply."""
        ...

    # --- HTTP ------------------------------------------------------------------------------------------

    def routes(self, runner: TurnRunner) -> list[web.RouteDef]:
        async def post(request: web.Request) -> web.StreamResponse:
            return await self._handle_post(request, runner)

        return [web.get(self.path, self._handle_get, allow_head=False), web.post(self.path, post)]

    async def _handle_get(self, request: web.Request) -> web.StreamResponse:
        try:
            timestamp, nonce = self._fresh(request.query)
            echo = self._verify_url(request.query, timestamp, nonce)
        except (Rejected, WeChatCryptoError) as error:
            return self._reject(error)
        return web.Response(body=echo, content_type="text/plain")

    async def _handle_post(self, request: web.Request, runner: TurnRunner) -> web.StreamResponse:
        try:
            body = await self._read_body(request)
            timestamp, nonce = self._fresh(request.query)
            xml, encrypted = self._open(request.query, body, timestamp, nonce)
            self._check_replay(timestamp, nonce, body)
            message = self._parse(xml, authenticated=encrypted)
        except (Rejected, WeChatCryptoError) as error:
            return self._reject(error)
        if message is None:
            return _text_response(SUCCESS)
        return await self._dispatch(message, runner, SignedRequest(encrypted, timestamp, nonce))

    def _reject(self, error: Rejected | WeChatCryptoError) -> web.Response:
        status = error.status if isinstance(error, Rejected) else HTTPStatus.FORBIDDEN
        CHANNEL_ERRORS.labels(channel=self.name, kind=error.kind).inc()
        log.warning("%s: refused a request (%s)", self.name, error.kind)
        return _text_response(REASONS[status], status)

    async def _read_body(self, request: web.Request) -> bytes:
        """The body, refused with 413 before any signature or XML work once it passes the cap."""
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise Rejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
        body = bytearray()
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise Rejected(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
        return bytes(body)

    def _fresh(self, query: MultiMapping[str]) -> tuple[str, str]:
        """The signed timestamp and nonce, refusing stale timestamps (replayed URLs)."""
        return fresh_timestamp_nonce(query, self.clock(), self.max_clock_skew)

    def _check_replay(self, timestamp: str, nonce: str, body: bytes) -> None:
        """A signed timestamp+nonce may come again (retries) but only with the body it first came with."""
        key, digest = f"{timestamp}:{nonce}", hashlib.sha256(body).hexdigest()
        seen = self._nonces.get(key)
        if seen is not None and seen != digest:
            raise Rejected(HTTPStatus.FORBIDDEN, "replay")
        self._nonces.put(key, digest)

    def _key(self) -> bytes:
        if self._aes_key is None:
            log.warning("%s: encrypted callback but no encoding_aes_key in credentials.yml", self.name)
            raise Rejected(HTTPStatus.FORBIDDEN, "no_aes_key")
        return self._aes_key

    def _open_encrypted(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> bytes:
        """Safe mode: msg_signature over `Encrypt` first, then decrypt and check the receive-id."""
        key = self._key()
        encrypted = self._parse_fields(body).get("Encrypt", "").strip()
        if not encrypted:
            raise Rejected(HTTPStatus.BAD_REQUEST, "xml")
        check_signature(query_param(query, "msg_signature"), self.token, timestamp, nonce, encrypted)
        return decrypt_message(encrypted, key, self.receive_id)

    def _parse_fields(self, body: bytes) -> dict[str, str]:
        try:
            return parse_fields(body, self.max_body_bytes)
        except WeChatXmlError:
            raise Rejected(HTTPStatus.BAD_REQUEST, "xml") from None

    def _parse(self, xml: bytes, authenticated: bool) -> WeChatMessage | None:
        """Unsigned XML that does not parse is refused (400); a decrypted, hence authentic, message that does
        not parse is answered `success` so WeChat does not retry it (None)."""
        try:
            return parse_message(xml, self.max_body_bytes)
        except WeChatXmlError:
            if not authenticated:
                raise Rejected(HTTPStatus.BAD_REQUEST, "xml") from None
        CHANNEL_ERRORS.labels(channel=self.name, kind="xml").inc()
        log.warning("%s: authenticated message is not valid XML; answered success", self.name)
        return None

    # --- turns and replies -----------------------------------------------------------------------------

    def _inbound_text(self, message: WeChatMessage) -> str | None:
        """What the user said, or None for messages we answer without a turn."""
        if message.msg_type == "text" and message.content.strip():
            return pick_button(self._choices.get(message.from_user), message.content)
        if message.msg_type == "voice" and message.recognition:
            return pick_button(self._choices.get(message.from_user), message.recognition)
        if message.msg_type == "event" and message.event == "subscribe":
            return self.greeting
        return None

    async def _dispatch(self, message: WeChatMessage, runner: TurnRunner, request: SignedRequest) -> web.Response:
        if self.kf_transfer and message.msg_type == "event" and message.event in KF_SESSION_EVENTS:
            if message.from_user and self.dedupe.first_time(dedupe_key(message)):
                self.background.spawn(self._mirror_kf_session(runner, message))
            return _text_response(SUCCESS)
        text = self._inbound_text(message)
        if text is None or not message.from_user:
            return _text_response(SUCCESS)
        key = dedupe_key(message)
        if not self.dedupe.first_time(key):
            DUPLICATES.labels(channel=self.name).inc()
            delivery = self._deliveries.get(key)
            return await self._answer(delivery, request) if delivery else _text_response(SUCCESS)
        if len(self.background) >= self.max_in_flight:
            CHANNEL_ERRORS.labels(channel=self.name, kind="overloaded").inc()
            log.warning("%s: %d turns in flight; message dropped", self.name, len(self.background))
            return _text_response(SUCCESS)
        delivery = _Delivery(user=message.from_user, account=message.to_user)
        inbound = UserMessage(text, message.from_user, self.name, metadata=message_metadata(message), via=self.name)
        delivery.task = self.background.spawn(self._run_turn(runner, inbound, delivery))
        self._deliveries.put(key, delivery)
        return await self._answer(delivery, request)

    async def _run_turn(self, runner: TurnRunner, inbound: UserMessage, delivery: _Delivery) -> str:
        """Run the turn; if the request stopped waiting meanwhile, send the reply through the API."""
        try:
            if self.kf_transfer:
                result = await runner.turn(inbound)
                replies = result.messages
                delivery.transfer = result.handoff.get("status") in ("queued", "human")
            else:
                replies = await runner.submit(inbound)
        except Exception:
            CHANNEL_ERRORS.labels(channel=self.name, kind="turn").inc()
            log.exception("%s: turn failed", self.name)
            return ""
        text, payloads = render_replies(replies)
        if payloads:
            self._choices.put(inbound.sender_id, payloads)
        else:
            self._choices.pop(inbound.sender_id)
        if delivery.passive is False and delivery.transfer:
            # the transfer exists only as a passive reply: this message stays with us (1.2 of the notes)
            CHANNEL_ERRORS.labels(channel=self.name, kind="transfer_missed").inc()
            log.warning("%s: a handoff missed the passive reply window; the message was not transferred", self.name)
        if delivery.passive is False and text:
            await self._send_late(delivery.user, text)
        return text

    async def _answer(self, delivery: _Delivery, request: SignedRequest) -> web.Response:
        """Wait for the turn up to the deadline; the first request to stop waiting decides passive vs API.
        No await sits between `_run_turn` reading `passive` and finishing, so exactly one path replies."""
        assert delivery.task is not None
        if delivery.passive is None:
            try:
                await asyncio.wait({delivery.task}, timeout=self.reply_deadline)
            except asyncio.CancelledError:  # the platform hung up: the reply must go through the API
                self._decide(delivery, passive=False)
                raise
            self._decide(delivery, passive=delivery.task.done())
        text = _result(delivery.task) if delivery.passive else ""
        if delivery.passive and delivery.transfer:
            if text and not delivery.spoken:  # the passive reply is the transfer: the words go by API
                delivery.spoken = True
                self.background.spawn(self._send_late(delivery.user, text))
            xml = seal(
                render_transfer_reply(delivery.user, delivery.account, int(self.clock())), request, self._envelope()
            )
            return web.Response(text=xml, content_type="application/xml")
        if not text:
            return _text_response(SUCCESS)
        xml = render_passive_reply(text, delivery.user, delivery.account, int(self.clock()), request, self._envelope())
        return web.Response(text=xml, content_type="application/xml")

    def _envelope(self) -> Envelope | None:
        if self._aes_key is None:
            return None
        return Envelope(self._aes_key, self.receive_id, self.token, self._random16)

    def _decide(self, delivery: _Delivery, passive: bool) -> None:
        """Settle once how the reply leaves; a finished turn whose reply must go by API is sent from here."""
        if delivery.passive is not None:
            return
        delivery.passive = passive
        if not passive and delivery.task is not None and _result(delivery.task):
            self.background.spawn(self._send_late(delivery.user, _result(delivery.task)))

    async def _mirror_kf_session(self, runner: TurnRunner, message: WeChatMessage) -> None:
        """WeChat's customer service says who has the chat: an agent accepted (create), passed it on
        (switch) or closed it (the bot's again)."""
        fields = message.fields
        try:
            if message.event == "kf_close_session":
                await runner.mirror_handoff(message.from_user, False, by="wechat_kf")
            else:
                agent = fields.get("ToKfAccount") or fields.get("KfAccount") or "kf"
                await runner.mirror_handoff(message.from_user, True, agent.strip(), by="wechat_kf")
        except Exception:
            CHANNEL_ERRORS.labels(channel=self.name, kind="turn").inc()
            log.exception("%s: could not record a customer-service session event", self.name)

    # --- outbound API ----------------------------------------------------------------------------------

    async def push(self, sender_id: str, messages: list[BotMessage]) -> bool:
        """A person's replies during a handoff, through the customer-service API (48 h window)."""
        text, _ = render_replies(messages)
        return bool(text) and await self._send_late(sender_id, text)

    async def _send_late(self, user: str, text: str) -> bool:
        """Deliver a reply outside the passive reply (missed deadline, a person's message); failures
        are counted and logged, not raised."""
        path, payload = self._send_request(user, text)
        body = json_body(payload)
        try:
            await self._api.send(path, body)
            return True
        except WeChatApiError as error:
            CHANNEL_ERRORS.labels(channel=self.name, kind=error.kind).inc()
            log.warning(
                "%s: reply not sent (%s errcode=%s errmsg=%s)",
                self.name,
                error.kind,
                self._api.redact(error.errcode),
                self._api.redact(error.errmsg),
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            CHANNEL_ERRORS.labels(channel=self.name, kind="api_network").inc()
            log.warning("%s: reply not sent (%s)", self.name, type(error).__name__)
        return False

    async def close(self) -> None:
        """Finish in-flight turns and late replies, then release the HTTP client."""
        await super().close()
        await self._api.close()


class WeChatChannel(_WeChatFamilyChannel):
    """WeChat Official Account (公众号) server push: plaintext, compatible or safe mode. With
    `kf_transfer: true` a handoff goes to WeChat's own customer service (多客服): the passive reply
    becomes `transfer_customer_service`, and its kf session events say who has the chat."""

    name = "wechat"
    path = "/webhooks/wechat"

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        token: str,
        encoding_aes_key: str | None = None,
        *,
        api_url: str = WECHAT_API,
        kf_transfer: bool = False,
        **options: Any,
    ):
        super().__init__(
            token=token,
            encoding_aes_key=encoding_aes_key,
            receive_id=app_id,
            secret=app_secret,
            api_url=api_url,
            **options,
        )
        self.app_id = app_id
        self.kf_transfer = kf_transfer

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WeChatChannel:
        """Build from the `wechat:` section of credentials.yml."""
        keys = required_credentials(credentials, cls.name, ("app_id", "app_secret", "token"))
        credentials = credentials or {}
        return cls(
            keys["app_id"],
            keys["app_secret"],
            keys["token"],
            str(credentials.get("encoding_aes_key") or "") or None,
            kf_transfer=credentials.get("kf_transfer") is True,
            **channel_options(credentials, cls.name),
        )

    def _verify_url(self, query: MultiMapping[str], timestamp: str, nonce: str) -> bytes:
        check_signature(query_param(query, "signature"), self.token, timestamp, nonce)
        return query_param(query, "echostr").encode("utf-8")

    def _open(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> tuple[bytes, bool]:
        """The query `signature` is checked on every POST; `encrypt_type=aes` adds the envelope checks."""
        check_signature(query_param(query, "signature"), self.token, timestamp, nonce)
        if query.get("encrypt_type") == "aes":
            return self._open_encrypted(query, body, timestamp, nonce), True
        if self._aes_key is not None:
            raise Rejected(HTTPStatus.FORBIDDEN, "plaintext")
        return body, False

    def _token_request(self) -> tuple[str, dict[str, str]]:
        return "/cgi-bin/token", {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}

    def _send_request(self, user: str, text: str) -> tuple[str, dict[str, Any]]:
        return "/cgi-bin/message/custom/send", {"touser": user, "msgtype": "text", "text": {"content": text}}


class WeComChannel(_WeChatFamilyChannel):
    """WeCom (企业微信) self-built app callbacks: always encrypted, receive-id = CorpID."""

    name = "wecom"
    path = "/webhooks/wecom"

    def __init__(
        self,
        corp_id: str,
        corp_secret: str,
        agent_id: int,
        token: str,
        encoding_aes_key: str,
        *,
        api_url: str = WECOM_API,
        **options: Any,
    ):
        if not encoding_aes_key:
            raise Errors.CREDENTIALS_MISSING_KEYS.error(
                channel="wecom", keys="encoding_aes_key", why="WeCom callbacks are always encrypted"
            )
        super().__init__(
            token=token,
            encoding_aes_key=encoding_aes_key,
            receive_id=corp_id,
            secret=corp_secret,
            api_url=api_url,
            **options,
        )
        self.corp_id, self.agent_id = corp_id, agent_id

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WeComChannel:
        """Build from the `wecom:` section of credentials.yml."""
        keys = required_credentials(
            credentials, cls.name, ("corp_id", "corp_secret", "agent_id", "token", "encoding_aes_key")
        )
        if not keys["agent_id"].isdecimal():
            raise Errors.WECOM_AGENT_ID.error()
        return cls(
            keys["corp_id"],
            keys["corp_secret"],
            int(keys["agent_id"]),
            keys["token"],
            keys["encoding_aes_key"],
            **channel_options(credentials or {}, cls.name),
        )

    def _verify_url(self, query: MultiMapping[str], timestamp: str, nonce: str) -> bytes:
        """The echostr is an envelope: verify, decrypt, check the CorpID, echo the plaintext."""
        key = self._key()
        echostr = query_param(query, "echostr").replace(" ", "+")  # form decoding turns a raw '+' into ' '
        check_signature(query_param(query, "msg_signature"), self.token, timestamp, nonce, echostr)
        return decrypt_message(echostr, key, self.receive_id)

    def _open(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> tuple[bytes, bool]:
        return self._open_encrypted(query, body, timestamp, nonce), True

    def _token_request(self) -> tuple[str, dict[str, str]]:
        return "/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self._secret}

    def _send_request(self, user: str, text: str) -> tuple[str, dict[str, Any]]:
        return "/cgi-bin/message/send", {
            "touser": user,
            "msgtype": "text",
            "agentid": self.agent_id,
            "text": {"content": text},
            "safe": 0,
        }
