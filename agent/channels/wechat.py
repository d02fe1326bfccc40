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
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import aiohttp
from aiohttp import web
from multidict import MultiMapping

from agent.channels.base import BotMessage, Channel, Deduplicator, ExpiringMap, InboundMessage, TurnRunner
from agent.channels.wechat_crypto import (WeChatCryptoError, aes_key, check_signature, decrypt_message, encrypt,
                                          signature)
from agent.channels.wechat_xml import (WeChatMessage, WeChatXmlError, parse_fields, parse_message,
                                       render_encrypted_reply, render_text_reply)
from agent.errors import AgentError
from agent.server.metrics import CHANNEL_ERRORS, DUPLICATES

log = logging.getLogger(__name__)

WECHAT_API = "https://api.weixin.qq.com"
WECOM_API = "https://qyapi.weixin.qq.com"
SUCCESS = "success"
TOKEN_EXPIRED_CODES = frozenset({40001, 40014, 42001})  # refresh the access token and retry once
_REASONS = {400: "bad request", 403: "forbidden", 413: "payload too large"}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class _Rejected(Exception):
    """A refused request: the HTTP status and metric label, never request data."""

    def __init__(self, status: int, kind: str):
        super().__init__(kind)
        self.status, self.kind = status, kind


class _ApiError(Exception):
    """An outbound API call failed; `kind` labels the metric."""

    def __init__(self, kind: str, errcode: Any = None, errmsg: Any = None):
        super().__init__(kind)
        self.kind, self.errcode, self.errmsg = kind, errcode, errmsg


@dataclass
class _Delivery:
    """One inbound message's turn and how its reply leaves; retries share it."""
    user: str  # the sender, who gets the reply
    account: str  # our account (inbound ToUserName), the passive reply's FromUserName
    task: asyncio.Task[str] | None = None  # resolves to the reply text ("" for none)
    passive: bool | None = None  # None until the first request's wait decides


@dataclass(frozen=True)
class _Request:
    """What a reply to this HTTP request needs: whether to encrypt it, and the signed timestamp/nonce."""
    encrypted: bool
    timestamp: str
    nonce: str


def render_replies(replies: list[BotMessage]) -> tuple[str, list[str]]:
    """One text for a turn's messages (texts, image URLs, numbered button lines) and the button payloads
    in number order."""
    lines: list[str] = []
    payloads: list[str] = []
    for message in replies:
        if message.get("text"):
            lines.append(str(message["text"]))
        for button in message.get("buttons") or []:
            title = str(button.get("title") or button.get("payload") or "")
            payloads.append(str(button.get("payload") or title))
            lines.append(f"{len(payloads)}. {title}")
        if message.get("image"):
            lines.append(str(message["image"]))
    return "\n".join(lines), payloads


def _result(task: asyncio.Task[str]) -> str:
    """A finished turn's reply text; "" while running or when cancelled."""
    return task.result() if task.done() and not task.cancelled() else ""


def _text_response(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


def _required(credentials: Mapping[str, Any] | None, channel: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The required keys as strings; names every missing one (never a value) in one AgentError."""
    credentials = credentials or {}
    missing = [key for key in keys if credentials.get(key) in (None, "")]
    if missing:
        raise AgentError(f"credentials.yml: the '{channel}' section is missing {', '.join(missing)}")
    return {key: str(credentials[key]) for key in keys}


def _options(credentials: Mapping[str, Any], channel: str) -> dict[str, Any]:
    """Optional settings shared by both channels, converted and checked."""
    options: dict[str, Any] = {}
    if credentials.get("api_url"):
        options["api_url"] = str(credentials["api_url"])
    if credentials.get("greeting"):
        options["greeting"] = str(credentials["greeting"])
    for key in ("reply_deadline", "max_clock_skew"):
        if credentials.get(key) is not None:
            try:
                options[key] = float(credentials[key])
            except (TypeError, ValueError):
                raise AgentError(f"credentials.yml: {channel}.{key} must be a number of seconds") from None
    return options


class _WeChatFamilyChannel(Channel):
    """The callback protocol shared by WeChat and WeCom; subclasses authenticate and pick the send API."""
    path: str

    def __init__(self, *, token: str, encoding_aes_key: str | None, receive_id: str, secret: str, api_url: str,
                 reply_deadline: float = 4.0, greeting: str = "/greet", max_clock_skew: float | None = 300.0,
                 max_body_bytes: int = 64 * 1024, max_in_flight: int = 1000,
                 clock: Callable[[], float] = time.time, random16: Callable[[], bytes] | None = None):
        super().__init__()
        if not 0 < reply_deadline < 5:
            raise AgentError(f"credentials.yml: {self.name}.reply_deadline must be between 0 and 5 seconds "
                             "(WeChat drops a passive reply after 5 s)")
        try:
            self._aes_key = aes_key(encoding_aes_key) if encoding_aes_key else None
        except ValueError:
            raise AgentError(f"credentials.yml: {self.name}.encoding_aes_key must be the 43-character "
                             "EncodingAESKey shown in the admin console") from None
        self.token, self.receive_id, self._secret = token, receive_id, secret
        self.api_url = api_url.rstrip("/")
        self.reply_deadline, self.greeting, self.max_clock_skew = reply_deadline, greeting, max_clock_skew
        self.max_body_bytes, self.max_in_flight = max_body_bytes, max_in_flight
        self.clock = clock
        self._random16 = random16 or (lambda: os.urandom(16))
        self.dedupe = Deduplicator()
        self._deliveries: ExpiringMap[_Delivery] = ExpiringMap(ttl=600.0)
        self._nonces: ExpiringMap[str] = ExpiringMap(ttl=2 * (max_clock_skew or 3600.0), max_items=100_000)
        self._choices: ExpiringMap[list[str]] = ExpiringMap(ttl=3600.0)
        self._client: aiohttp.ClientSession | None = None
        self._access_token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

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
        except (_Rejected, WeChatCryptoError) as error:
            return self._reject(error)
        return web.Response(body=echo, content_type="text/plain")

    async def _handle_post(self, request: web.Request, runner: TurnRunner) -> web.StreamResponse:
        try:
            body = await self._read_body(request)
            timestamp, nonce = self._fresh(request.query)
            xml, encrypted = self._open(request.query, body, timestamp, nonce)
            self._check_replay(timestamp, nonce, body)
            message = self._parse(xml, authenticated=encrypted)
        except (_Rejected, WeChatCryptoError) as error:
            return self._reject(error)
        if message is None:
            return _text_response(SUCCESS)
        return await self._dispatch(message, runner, _Request(encrypted, timestamp, nonce))

    def _reject(self, error: _Rejected | WeChatCryptoError) -> web.Response:
        status = error.status if isinstance(error, _Rejected) else 403
        CHANNEL_ERRORS.labels(channel=self.name, kind=error.kind).inc()
        log.warning("%s: refused a request (%s)", self.name, error.kind)
        return _text_response(_REASONS[status], status)

    async def _read_body(self, request: web.Request) -> bytes:
        """The body, refused with 413 before any signature or XML work once it passes the cap."""
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise _Rejected(413, "too_large")
        body = bytearray()
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise _Rejected(413, "too_large")
        return bytes(body)

    @staticmethod
    def _param(query: MultiMapping[str], name: str) -> str:
        value = query.get(name)
        if not value or len(value) > 4096:
            raise _Rejected(400, "params")
        return value

    def _fresh(self, query: MultiMapping[str]) -> tuple[str, str]:
        """The signed timestamp and nonce, refusing stale timestamps (replayed URLs)."""
        timestamp, nonce = self._param(query, "timestamp"), self._param(query, "nonce")
        if not _TIMESTAMP.fullmatch(timestamp) or len(nonce) > 128:
            raise _Rejected(400, "params")
        if self.max_clock_skew is not None and abs(self.clock() - int(timestamp)) > self.max_clock_skew:
            raise _Rejected(403, "stale")
        return timestamp, nonce

    def _check_replay(self, timestamp: str, nonce: str, body: bytes) -> None:
        """A signed timestamp+nonce may come again (retries) but only with the body it first came with."""
        key, digest = f"{timestamp}:{nonce}", hashlib.sha256(body).hexdigest()
        seen = self._nonces.get(key)
        if seen is not None and seen != digest:
            raise _Rejected(403, "replay")
        self._nonces.put(key, digest)

    def _key(self) -> bytes:
        if self._aes_key is None:
            log.warning("%s: encrypted callback but no encoding_aes_key in credentials.yml", self.name)
            raise _Rejected(403, "no_aes_key")
        return self._aes_key

    def _open_encrypted(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> bytes:
        """Safe mode: msg_signature over `Encrypt` first, then decrypt and check the receive-id."""
        key = self._key()
        encrypted = self._parse_fields(body).get("Encrypt", "").strip()
        if not encrypted:
            raise _Rejected(400, "xml")
        check_signature(self._param(query, "msg_signature"), self.token, timestamp, nonce, encrypted)
        return decrypt_message(encrypted, key, self.receive_id)

    def _parse_fields(self, body: bytes) -> dict[str, str]:
        try:
            return parse_fields(body, self.max_body_bytes)
        except WeChatXmlError:
            raise _Rejected(400, "xml") from None

    def _parse(self, xml: bytes, authenticated: bool) -> WeChatMessage | None:
        """Unsigned XML that does not parse is refused (400); a decrypted, hence authentic, message that does
        not parse is answered `success` so WeChat does not retry it (None)."""
        try:
            return parse_message(xml, self.max_body_bytes)
        except WeChatXmlError:
            if not authenticated:
                raise _Rejected(400, "xml") from None
        CHANNEL_ERRORS.labels(channel=self.name, kind="xml").inc()
        log.warning("%s: authenticated message is not valid XML; answered success", self.name)
        return None

    # --- turns and replies -----------------------------------------------------------------------------

    def _inbound_text(self, message: WeChatMessage) -> str | None:
        """What the user said, or None for messages we answer without a turn."""
        if message.msg_type == "text" and message.content.strip():
            return self._choice(message.from_user, message.content)
        if message.msg_type == "voice" and message.recognition:
            return self._choice(message.from_user, message.recognition)
        if message.msg_type == "event" and message.event == "subscribe":
            return self.greeting
        return None

    def _choice(self, user: str, text: str) -> str:
        """A bare number picks the button of that number from the user's last reply."""
        payloads, picked = self._choices.get(user), text.strip()
        # a few digits at most: int() refuses thousands of them (ValueError)
        if payloads and picked.isdecimal() and len(picked) <= 4 and 1 <= int(picked) <= len(payloads):
            return payloads[int(picked) - 1]
        return text

    @staticmethod
    def _dedupe_key(message: WeChatMessage) -> str:
        if message.msg_id:
            return f"msg:{message.msg_id}"
        return f"event:{message.from_user}:{message.create_time}:{message.event}:{message.event_key}"

    @staticmethod
    def _metadata(message: WeChatMessage) -> dict[str, Any]:
        metadata = {"to_user": message.to_user, "msg_type": message.msg_type, "msg_id": message.msg_id,
                    "create_time": message.create_time, "event": message.event, "event_key": message.event_key,
                    "agent_id": message.agent_id}
        return {key: value for key, value in metadata.items() if value not in ("", None)}

    async def _dispatch(self, message: WeChatMessage, runner: TurnRunner, request: _Request) -> web.Response:
        text = self._inbound_text(message)
        if text is None or not message.from_user:
            return _text_response(SUCCESS)
        key = self._dedupe_key(message)
        if not self.dedupe.first_time(key):
            DUPLICATES.labels(channel=self.name).inc()
            delivery = self._deliveries.get(key)
            return await self._answer(delivery, request) if delivery else _text_response(SUCCESS)
        if len(self.background) >= self.max_in_flight:
            CHANNEL_ERRORS.labels(channel=self.name, kind="overloaded").inc()
            log.warning("%s: %d turns in flight; message dropped", self.name, len(self.background))
            return _text_response(SUCCESS)
        delivery = _Delivery(user=message.from_user, account=message.to_user)
        inbound = InboundMessage(self.name, message.from_user, text, self._metadata(message))
        delivery.task = self.background.spawn(self._run_turn(runner, inbound, delivery))
        self._deliveries.put(key, delivery)
        return await self._answer(delivery, request)

    async def _run_turn(self, runner: TurnRunner, inbound: InboundMessage, delivery: _Delivery) -> str:
        """Run the turn; if the request stopped waiting meanwhile, send the reply through the API."""
        try:
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
        if delivery.passive is False and text:
            await self._send_late(delivery.user, text)
        return text

    async def _answer(self, delivery: _Delivery, request: _Request) -> web.Response:
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
        if not text:
            return _text_response(SUCCESS)
        xml = render_text_reply(delivery.user, delivery.account, int(self.clock()), text)
        if request.encrypted and self._aes_key is not None:
            encrypted = encrypt(xml, self._aes_key, self.receive_id, self._random16())
            msg_signature = signature(self.token, request.timestamp, request.nonce, encrypted)
            xml = render_encrypted_reply(encrypted, msg_signature, request.timestamp, request.nonce)
        return web.Response(text=xml, content_type="application/xml")

    def _decide(self, delivery: _Delivery, passive: bool) -> None:
        """Settle once how the reply leaves; a finished turn whose reply must go by API is sent from here."""
        if delivery.passive is not None:
            return
        delivery.passive = passive
        if not passive and delivery.task is not None and _result(delivery.task):
            self.background.spawn(self._send_late(delivery.user, _result(delivery.task)))

    # --- outbound API ----------------------------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._client

    def _redact(self, text: Any) -> str:
        """Platform error text with our secrets blanked, in case an error echoes them."""
        text = str(text)[:200]
        for secret in (self._secret, self.token, self._access_token):
            if secret:
                text = text.replace(secret, "***")
        return text

    async def _token(self) -> str:
        """The cached access token, fetched (one fetch at a time) when missing or within 60 s of expiry."""
        async with self._token_lock:
            if self._access_token and time.monotonic() < self._token_expires:
                return self._access_token
            path, params = self._token_request()
            data = await self._call("GET", path, params=params)
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise _ApiError("token", data.get("errcode"), data.get("errmsg"))
            expires_in = data.get("expires_in", 7200)
            lifetime = float(expires_in) if isinstance(expires_in, (int, float)) else 7200.0
            self._access_token, self._token_expires = token, time.monotonic() + max(lifetime - 60, 0)
            return token

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One API call's JSON object; never puts the URL (which holds secrets) into an error."""
        async with self._session().request(method, self.api_url + path, **kwargs) as response:
            if response.status != 200:
                raise _ApiError("api_http", response.status)
            data = await response.json(content_type=None)
        if not isinstance(data, dict):
            raise _ApiError("api")
        return data

    async def _send_late(self, user: str, text: str) -> None:
        """Deliver a reply that missed the passive deadline; failures are counted and logged, not raised."""
        path, payload = self._send_request(user, text)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            for attempt in range(2):
                token = await self._token()
                data = await self._call("POST", path, params={"access_token": token}, data=body, headers=headers)
                errcode = data.get("errcode", 0)
                if errcode == 0:
                    return
                if errcode in TOKEN_EXPIRED_CODES and attempt == 0:
                    self._access_token = None
                    continue
                raise _ApiError("api", errcode, data.get("errmsg"))
        except _ApiError as error:
            CHANNEL_ERRORS.labels(channel=self.name, kind=error.kind).inc()
            log.warning("%s: reply not sent (%s errcode=%s errmsg=%s)", self.name, error.kind,
                        self._redact(error.errcode), self._redact(error.errmsg))
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            CHANNEL_ERRORS.labels(channel=self.name, kind="api_network").inc()
            log.warning("%s: reply not sent (%s)", self.name, type(error).__name__)

    async def close(self) -> None:
        """Finish in-flight turns and late replies, then release the HTTP client."""
        await super().close()
        if self._client is not None:
            await self._client.close()
            self._client = None


class WeChatChannel(_WeChatFamilyChannel):
    """WeChat Official Account (公众号) server push: plaintext, compatible or safe mode."""
    name = "wechat"
    path = "/webhooks/wechat"

    def __init__(self, app_id: str, app_secret: str, token: str, encoding_aes_key: str | None = None, *,
                 api_url: str = WECHAT_API, **options: Any):
        super().__init__(token=token, encoding_aes_key=encoding_aes_key, receive_id=app_id, secret=app_secret,
                         api_url=api_url, **options)
        self.app_id = app_id

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WeChatChannel:
        """Build from the `wechat:` section of credentials.yml."""
        keys = _required(credentials, cls.name, ("app_id", "app_secret", "token"))
        credentials = credentials or {}
        return cls(keys["app_id"], keys["app_secret"], keys["token"],
                   str(credentials.get("encoding_aes_key") or "") or None, **_options(credentials, cls.name))

    def _verify_url(self, query: MultiMapping[str], timestamp: str, nonce: str) -> bytes:
        check_signature(self._param(query, "signature"), self.token, timestamp, nonce)
        return self._param(query, "echostr").encode("utf-8")

    def _open(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> tuple[bytes, bool]:
        """The query `signature` is checked on every POST; `encrypt_type=aes` adds the envelope checks."""
        check_signature(self._param(query, "signature"), self.token, timestamp, nonce)
        if query.get("encrypt_type") == "aes":
            return self._open_encrypted(query, body, timestamp, nonce), True
        if self._aes_key is not None:
            raise _Rejected(403, "plaintext")
        return body, False

    def _token_request(self) -> tuple[str, dict[str, str]]:
        return "/cgi-bin/token", {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret}

    def _send_request(self, user: str, text: str) -> tuple[str, dict[str, Any]]:
        return "/cgi-bin/message/custom/send", {"touser": user, "msgtype": "text", "text": {"content": text}}


class WeComChannel(_WeChatFamilyChannel):
    """WeCom (企业微信) self-built app callbacks: always encrypted, receive-id = CorpID."""
    name = "wecom"
    path = "/webhooks/wecom"

    def __init__(self, corp_id: str, corp_secret: str, agent_id: int, token: str, encoding_aes_key: str, *,
                 api_url: str = WECOM_API, **options: Any):
        if not encoding_aes_key:
            raise AgentError("credentials.yml: the 'wecom' section is missing encoding_aes_key "
                             "(WeCom callbacks are always encrypted)")
        super().__init__(token=token, encoding_aes_key=encoding_aes_key, receive_id=corp_id, secret=corp_secret,
                         api_url=api_url, **options)
        self.corp_id, self.agent_id = corp_id, agent_id

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> WeComChannel:
        """Build from the `wecom:` section of credentials.yml."""
        keys = _required(credentials, cls.name,
                         ("corp_id", "corp_secret", "agent_id", "token", "encoding_aes_key"))
        if not keys["agent_id"].isdecimal():
            raise AgentError("credentials.yml: wecom.agent_id must be the app's numeric AgentId")
        return cls(keys["corp_id"], keys["corp_secret"], int(keys["agent_id"]), keys["token"],
                   keys["encoding_aes_key"], **_options(credentials or {}, cls.name))

    def _verify_url(self, query: MultiMapping[str], timestamp: str, nonce: str) -> bytes:
        """The echostr is an envelope: verify, decrypt, check the CorpID, echo the plaintext."""
        key = self._key()
        echostr = self._param(query, "echostr").replace(" ", "+")  # form decoding turns a raw '+' into ' '
        check_signature(self._param(query, "msg_signature"), self.token, timestamp, nonce, echostr)
        return decrypt_message(echostr, key, self.receive_id)

    def _open(self, query: MultiMapping[str], body: bytes, timestamp: str, nonce: str) -> tuple[bytes, bool]:
        return self._open_encrypted(query, body, timestamp, nonce), True

    def _token_request(self) -> tuple[str, dict[str, str]]:
        return "/cgi-bin/gettoken", {"corpid": self.corp_id, "corpsecret": self._secret}

    def _send_request(self, user: str, text: str) -> tuple[str, dict[str, Any]]:
        return "/cgi-bin/message/send", {"touser": user, "msgtype": "text", "agentid": self.agent_id,
                                         "text": {"content": text}, "safe": 0}
