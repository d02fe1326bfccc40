"""Slack channel (Events API + Interactivity over HTTP), Rasa-compatible credentials and route.

Wire facts follow shared/connectors/PROTOCOLS.md section 1: the signature is checked on the raw body
before any parsing, Slack gets its 200 at once and the turn runs in the background, retries and the
`message` + `app_mention` double delivery are answered once.

Conversation key: `sender_id = "{channel}:{user}"`. Rasa uses the bare user id; keying on the channel
too keeps a user's DM and a public-channel conversation apart (the replies go to different places
anyway), and a button click (channel + user) lands in the same conversation as the typed messages.

Threads: a message written in a thread is answered in that thread. A top-level message is answered
top-level unless `use_threads: true` (Rasa's key), which starts a thread under it (`thread_ts = ts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from agent.channels.base import BotMessage, Channel, Deduplicator, TurnRunner
from agent.core.processor import UserMessage
from agent.errors import Errors
from agent.metrics import CHANNEL_ERRORS, DUPLICATES

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api"
WEBHOOK_PATH = "/webhooks/slack/webhook"
MAX_SKEW_S = 300
MAX_BODY_BYTES = 64 * 1024
MAX_BUTTONS_PER_BLOCK = 25
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]*))?>")


def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """Slack signature v0 over the raw body; returns the rejection kind, or None when authentic."""
    if not timestamp or not signature:
        return "missing_headers"
    if (
        not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12)
        or not signature.isascii()
        or not signature.startswith("v0=")
    ):
        return "bad_headers"
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        return "stale_timestamp"
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(("v0=" + digest).encode(), signature.encode()) else "bad_signature"


def _ident(value: Any) -> bool:
    """Slack ids (channel, user) are non-empty strings; anything else in a signed body is unusable."""
    return isinstance(value, str) and bool(value)


def sanitize(text: str, bot_user_ids: set[str]) -> str:
    """What NLU should see: no mention of the bot, `<url|label>` as its label, mrkdwn entities unescaped."""
    text = _MENTION.sub(lambda m: "" if m.group(1) in bot_user_ids else m.group(0), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def to_slack(message: BotMessage, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
    """chat.postMessage bodies for one bot message, in Rasa's order: text/buttons, custom, image."""
    where: dict[str, Any] = {"channel": channel, **({"thread_ts": thread_ts} if thread_ts else {})}
    bodies: list[dict[str, Any]] = []
    text = message.get("text") or ""
    elements = [
        {
            "type": "button",
            "action_id": f"qr_{i}",
            "text": {"type": "plain_text", "text": str(b.get("title") or b.get("payload"))[:75]},
            "value": str(b["payload"]),
        }
        for i, b in enumerate(message.get("buttons") or [])
        if b.get("payload") and len(str(b["payload"])) <= 2000
    ]
    if elements:
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}] if text else []
        for n in range(0, len(elements), MAX_BUTTONS_PER_BLOCK):
            block_id = "quick_replies" if n == 0 else f"quick_replies_{n // MAX_BUTTONS_PER_BLOCK + 1}"
            blocks.append(
                {"type": "actions", "block_id": block_id, "elements": elements[n : n + MAX_BUTTONS_PER_BLOCK]}
            )
        bodies.append({**where, "text": text, "blocks": blocks})
    elif text:
        bodies.append({**where, "text": text})
    if isinstance(message.get("custom"), dict):
        bodies.append({**where, **message["custom"]})
    if message.get("image"):
        url = str(message["image"])
        bodies.append({**where, "text": url, "blocks": [{"type": "image", "image_url": url, "alt_text": "image"}]})
    return bodies


class SlackChannel(Channel):
    """Slack webhook channel: `POST /webhooks/slack/webhook` takes events and button clicks alike."""

    name = "slack"

    def __init__(
        self,
        token: str,
        signing_secret: str,
        *,
        slack_channel: str | None = None,
        api_url: str = DEFAULT_API_URL,
        use_threads: bool = False,
        clock: Callable[[], float] = time.time,
        dedup: Deduplicator | None = None,
        max_attempts: int = 3,
        max_pending: int = 1000,
        agents_channel: str | None = None,
    ) -> None:
        super().__init__()
        # Slack as an agent desk (agent.server.slack_desk): replies in this channel's threads are people's
        self.agents_channel = agents_channel
        self.on_thread_reply: Callable[[str, str, str, str], Awaitable[None]] | None = None
        self._token, self._secret = token, signing_secret
        self.slack_channel, self.use_threads = slack_channel, use_threads
        self.api_url = api_url.rstrip("/")
        self.clock, self.dedup = clock, dedup or Deduplicator()
        self.max_attempts, self.max_pending = max_attempts, max_pending
        self._session: aiohttp.ClientSession | None = None
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        if slack_channel and slack_channel.startswith("#"):
            log.warning(
                "slack: slack_channel %r is a name; events carry channel ids (C…), so it never matches", slack_channel
            )

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None, **options: Any) -> SlackChannel:
        """Build from the `slack:` section of credentials.yml (Rasa keys, plus our `api_url`)."""
        credentials = credentials or {}
        for key in ("slack_token", "slack_signing_secret"):
            value = credentials.get(key)
            if not isinstance(value, str) or not value.strip():
                raise Errors.SLACK_CREDENTIAL_MISSING.error(key=key)
        extra = {k: credentials[k] for k in ("slack_channel", "api_url", "agents_channel") if credentials.get(k)}
        return cls(
            credentials["slack_token"],
            credentials["slack_signing_secret"],
            use_threads=bool(credentials.get("use_threads", False)),
            **extra,
            **options,
        )

    def routes(self, runner: TurnRunner) -> list[web.RouteDef]:
        async def webhook(request: web.Request) -> web.StreamResponse:
            return await self._webhook(request, runner)

        return [web.post(WEBHOOK_PATH, webhook)]

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _webhook(self, request: web.Request, runner: TurnRunner) -> web.StreamResponse:
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return self._reject(413, "too_large", "request body too large")
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            return self._reject(413, "too_large", "request body too large")
        kind = verify_signature(
            self._secret,
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            raw,
            self.clock(),
        )
        if kind:
            return self._reject(401, kind, "invalid slack signature")
        if "X-Slack-Retry-Num" in request.headers:
            log.info(
                "slack: retry #%s (%s)",
                request.headers.get("X-Slack-Retry-Num", "")[:8],
                request.headers.get("X-Slack-Retry-Reason", "")[:32],
            )
        try:
            if request.content_type == "application/json":
                return self._on_event(json.loads(raw), runner)
            if request.content_type == "application/x-www-form-urlencoded":
                payload = parse_qs(raw.decode(), strict_parsing=True)["payload"]
                if len(payload) != 1:
                    raise ValueError("expected exactly one payload field")
                self._on_click(json.loads(payload[0]), runner)
                return web.Response()
            raise ValueError(f"unsupported content type {request.content_type!r}")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            # Signed by Slack but unusable: answer 200 so Slack does not retry it or disable us.
            log.warning("slack: ignored an unusable request (%s)", type(exc).__name__)
            CHANNEL_ERRORS.labels(channel="slack", kind="bad_payload").inc()
            return web.Response()

    @staticmethod
    def _reject(status: int, kind: str, error: str) -> web.Response:
        CHANNEL_ERRORS.labels(channel="slack", kind=kind).inc()
        log.warning("slack: rejected a request (%s)", kind)
        return web.json_response({"error": error}, status=status)

    def _on_event(self, envelope: dict[str, Any], runner: TurnRunner) -> web.Response:
        kind = envelope.get("type")
        if kind == "url_verification":
            return web.Response(text=str(envelope["challenge"]), content_type="text/plain")
        if kind != "event_callback":
            log.info("slack: ignored envelope type %r", str(kind)[:40])
            return web.Response()
        event: dict[str, Any] = envelope["event"]
        bot_users = {a["user_id"] for a in envelope.get("authorizations") or [] if a.get("is_bot")}
        text = sanitize(str(event.get("text") or ""), bot_users)
        channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
        if self.agents_channel is not None and channel == self.agents_channel:
            return self._on_agents_channel(envelope, event, text, bot_users)
        supported = (
            event.get("channel_type") == "im"
            or event.get("type") == "app_mention"
            or (self.slack_channel is not None and channel == self.slack_channel)
        )
        if (
            event.get("type") not in ("message", "app_mention")
            or "subtype" in event
            or "bot_id" in event
            or not (text and _ident(channel) and _ident(user))
            or user in bot_users
            or not supported
        ):
            return web.Response()
        team = envelope.get("team_id") or event.get("team") or ""
        if not self.dedup.first_time(
            f"event:{envelope.get('event_id')}" if envelope.get("event_id") else None,
            f"msg:{team}:{channel}:{ts}" if ts else None,
        ):
            DUPLICATES.labels(channel="slack").inc()
            return web.Response()
        thread_ts = event.get("thread_ts") or (ts if self.use_threads else None)
        metadata = {
            "team_id": team,
            "channel": channel,
            "user": user,
            "ts": ts,
            "thread_ts": event.get("thread_ts"),
            "event_type": event.get("type"),
        }
        self._start_turn(
            runner, UserMessage(text, f"{channel}:{user}", "slack", metadata=metadata, via="slack"), channel, thread_ts
        )
        return web.Response()

    def _on_agents_channel(
        self, envelope: dict[str, Any], event: dict[str, Any], text: str, bot_users: set[str]
    ) -> web.Response:
        """A person's reply in a handoff thread (HANDOFF_AND_EVENTS.md 4.3): not our own relays, not
        edits or joins, not top-level chatter."""
        user, ts, thread_ts = event.get("user"), event.get("ts"), event.get("thread_ts")
        if (
            event.get("type") != "message"
            or event.get("subtype") not in (None, "thread_broadcast")
            or "bot_id" in event
            or user in bot_users
            or not (text and _ident(user) and thread_ts and thread_ts != ts)
            or self.on_thread_reply is None
        ):
            return web.Response()
        if not self.dedup.first_time(f"event:{envelope.get('event_id')}" if envelope.get("event_id") else None):
            DUPLICATES.labels(channel="slack").inc()
            return web.Response()
        self.background.spawn(self.on_thread_reply(str(event["channel"]), str(thread_ts), str(user), text))
        return web.Response()

    def _on_click(self, payload: dict[str, Any], runner: TurnRunner) -> None:
        """A block_actions click becomes a user message whose text is the clicked button's value."""
        if payload.get("type") != "block_actions":
            return
        actions = [
            a for a in payload.get("actions") or [] if a.get("value") or (a.get("selected_option") or {}).get("value")
        ]
        user = (payload.get("user") or {}).get("id")
        channel = (payload.get("channel") or {}).get("id") or (payload.get("container") or {}).get("channel_id")
        if not (actions and _ident(user) and _ident(channel)):
            return
        action, message = actions[0], payload.get("message") or {}
        message_ts = (payload.get("container") or {}).get("message_ts") or message.get("ts")
        if not self.dedup.first_time(f"click:{message_ts}:{action.get('action_ts')}:{user}"):
            DUPLICATES.labels(channel="slack").inc()
            return
        text = str(action.get("value") or action["selected_option"]["value"])
        thread_ts = message.get("thread_ts") or (message.get("ts") if self.use_threads else None)
        metadata = {
            "team_id": (payload.get("team") or {}).get("id"),
            "channel": channel,
            "user": user,
            "ts": message_ts,
            "thread_ts": message.get("thread_ts"),
            "event_type": "block_actions",
        }
        self._start_turn(
            runner, UserMessage(text, f"{channel}:{user}", "slack", metadata=metadata, via="slack"), channel, thread_ts
        )

    def _start_turn(self, runner: TurnRunner, message: UserMessage, channel: str, thread_ts: str | None) -> None:
        if len(self.background) >= self.max_pending:
            log.warning("slack: %d turns in flight, dropped a message", len(self.background))
            CHANNEL_ERRORS.labels(channel="slack", kind="overloaded").inc()
            return
        self.background.spawn(self._run_turn(runner, message, channel, thread_ts))

    async def _run_turn(self, runner: TurnRunner, message: UserMessage, channel: str, thread_ts: str | None) -> None:
        try:
            replies = await runner.submit(message)
        except Exception:
            log.exception("slack: the turn for %s failed", message.sender_id)
            CHANNEL_ERRORS.labels(channel="slack", kind="turn_failed").inc()
            return
        async with self._channel_lock(channel):
            for reply in replies:
                try:
                    bodies = to_slack(reply, channel, thread_ts)
                except (AttributeError, TypeError, KeyError) as exc:
                    log.warning("slack: skipped a malformed bot message (%s)", type(exc).__name__)
                    CHANNEL_ERRORS.labels(channel="slack", kind="bad_reply").inc()
                    continue
                for body in bodies:
                    await self.post_message(body)

    async def push(self, sender_id: str, messages: list[BotMessage]) -> bool:
        """A person's replies during a handoff, posted where the customer writes (`channel:user`)."""
        channel, _, user = sender_id.partition(":")
        if not channel or not user:
            return False
        sent = True
        async with self._channel_lock(channel):
            for message in messages:
                for body in to_slack(message, channel, None):
                    sent = await self.post_message(body) and sent
        return sent

    @contextlib.asynccontextmanager
    async def _channel_lock(self, channel: str) -> AsyncIterator[None]:
        """Serialises sends per channel (FIFO), so consecutive turns' replies keep their order."""
        lock, users = self._locks.get(channel, (asyncio.Lock(), 0))
        self._locks[channel] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[channel]
            if users == 1:
                del self._locks[channel]
            else:
                self._locks[channel] = (lock, users - 1)

    async def post_message(self, body: dict[str, Any]) -> bool:
        return await self.post(body) is not None

    async def post(self, body: dict[str, Any]) -> str | None:
        """chat.postMessage with the bot token; honours 429 Retry-After a bounded number of times. The
        posted message's ts (a thread's root for replies under it), or None when it was not posted."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json; charset=utf-8"}
        data = json.dumps(body).encode()
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with self._session.post(f"{self.api_url}/chat.postMessage", data=data, headers=headers) as resp:
                    if resp.status == 429:
                        delay = _retry_after(resp.headers.get("Retry-After"))
                        log.info("slack: rate limited, retrying in %.1fs (attempt %d)", delay, attempt)
                        if attempt < self.max_attempts:
                            await asyncio.sleep(delay)
                        continue
                    answer = await resp.json(content_type=None) if resp.status == 200 else {}
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                log.warning("slack: chat.postMessage failed (%s)", type(exc).__name__)
                CHANNEL_ERRORS.labels(channel="slack", kind="post_failed").inc()
                return None
            if isinstance(answer, dict) and answer.get("ok") is True:
                return str(answer.get("ts") or "")
            error = answer.get("error") if isinstance(answer, dict) else None
            log.warning(
                "slack: chat.postMessage to %s refused: HTTP %d, error=%s",
                body.get("channel"),
                resp.status,
                str(error)[:64],
            )
            CHANNEL_ERRORS.labels(channel="slack", kind="post_failed").inc()
            return None
        log.warning(
            "slack: chat.postMessage to %s still rate limited after %d attempts", body.get("channel"), self.max_attempts
        )
        CHANNEL_ERRORS.labels(channel="slack", kind="rate_limited").inc()
        return None


def _retry_after(header: str | None) -> float:
    """Seconds to wait from a Retry-After header; 1 s when missing or garbled, never above a minute."""
    try:
        return min(max(float(header or 1), 0.0), 60.0)
    except ValueError:
        return 1.0
