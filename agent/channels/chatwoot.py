"""Chatwoot Agent Bot connector: the bot in front of a Chatwoot inbox, Chatwoot as the agent desk.

Wire facts: shared/connectors/HANDOFF_AND_EVENTS.md section 3. Chatwoot POSTs events to
`/webhooks/chatwoot/webhook`; we answer 200 at once (a slow or failed answer makes Chatwoot open the
conversation to people) and run the turn in the background. Chatwoot's status is the handoff:
`pending` (or the legacy `bot`) is the bot's, `open` is people's. So:

- an incoming customer message in a `pending` conversation is a turn; in an `open` one it is stored
  for the transcript and the bot stays silent;
- when our bot hands off (action_handoff or a trigger), it posts its reply, a private note with the
  reason for the agent, then `toggle_status open`;
- a person answering a `pending` conversation (an outgoing, non-private message from a `user`) means
  they took over: we record it and open the conversation, so bot and person never talk over each other;
- an agent setting it back to `pending` gives it back: the next message is the bot's again.

Conversation id: `chatwoot:{account}:{conversation display id}`.

    chatwoot:
      url: https://chatwoot.example.com
      bot_token: ${CHATWOOT_BOT_TOKEN}
      webhook_secret: ${CHATWOOT_WEBHOOK_SECRET}   # optional: verify X-Chatwoot-Signature
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from agent.channels.base import BotMessage, Channel, Deduplicator, TurnRunner
from agent.core.processor import UserMessage
from agent.errors import Errors
from agent.metrics import CHANNEL_ERRORS, DUPLICATES

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/chatwoot/webhook"
MAX_SKEW_S = 300
BOT_STATUSES = ("pending", "bot")  # `bot` is what Chatwoot called `pending` before
API_TIMEOUT_S = 15


def verify_signature(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float) -> str | None:
    """`sha256=HMAC(secret, "{timestamp}.{raw body}")`; the rejection kind, or None when authentic."""
    if not timestamp or not signature:
        return "missing_headers"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not signature.startswith(
        "sha256="
    ):
        return "bad_headers"
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        return "stale_timestamp"
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest("sha256=" + digest, signature) else "bad_signature"


def to_chatwoot(message: BotMessage) -> dict[str, Any] | None:
    """A bot message as Chatwoot's message body; buttons become an `input_select`."""
    text = message.get("text") or ""
    if message.get("image"):
        text = f"{text}\n{message['image']}".strip()
    buttons = [b for b in message.get("buttons") or [] if isinstance(b, dict) and b.get("title")]
    if buttons:
        items = [{"title": str(b["title"]), "value": str(b.get("payload", b["title"]))} for b in buttons]
        return {"content": text, "content_type": "input_select", "content_attributes": {"items": items}}
    return {"content": text} if text else None


class ChatwootChannel(Channel):
    name = "chatwoot"

    def __init__(
        self,
        url: str,
        bot_token: str,
        webhook_secret: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
        dedup: Deduplicator | None = None,
    ) -> None:
        super().__init__()
        self.url, self._token, self._secret = url.rstrip("/"), bot_token, webhook_secret
        self.clock, self.dedup = clock, dedup or Deduplicator()
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None, **options: Any) -> ChatwootChannel:
        credentials = credentials or {}
        for key in ("url", "bot_token"):
            value = credentials.get(key)
            if not isinstance(value, str) or not value.strip():
                raise Errors.CHATWOOT_CREDENTIAL_MISSING.error(key=key)
        secret = credentials.get("webhook_secret")
        return cls(credentials["url"], credentials["bot_token"], str(secret) if secret else None, **options)

    def routes(self, runner: TurnRunner) -> list[web.RouteDef]:
        async def webhook(request: web.Request) -> web.Response:
            return await self._webhook(request, runner)

        return [web.post(WEBHOOK_PATH, webhook)]

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ inbound

    async def _webhook(self, request: web.Request, runner: TurnRunner) -> web.Response:
        raw = await request.read()
        if self._secret:
            kind = verify_signature(
                self._secret,
                request.headers.get("X-Chatwoot-Timestamp"),
                request.headers.get("X-Chatwoot-Signature"),
                raw,
                self.clock(),
            )
            if kind:
                CHANNEL_ERRORS.labels(channel=self.name, kind=kind).inc()
                return web.json_response({"error": "invalid chatwoot signature"}, status=401)
        try:
            event = json.loads(raw)
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):
            CHANNEL_ERRORS.labels(channel=self.name, kind="bad_request").inc()
            return web.json_response({"error": "the body is not a JSON object"}, status=400)
        delivery = request.headers.get("X-Chatwoot-Delivery")
        message_id = event.get("id") if event.get("event") == "message_created" else None
        if not self.dedup.first_time(delivery, f"message:{message_id}" if message_id is not None else None):
            DUPLICATES.labels(channel=self.name).inc()
            return web.json_response({"status": "duplicate"})
        try:
            work = self._plan(event)
        except (KeyError, TypeError, AttributeError, ValueError):
            CHANNEL_ERRORS.labels(channel=self.name, kind="bad_request").inc()
            return web.json_response({"status": "ignored"})
        if work is not None:
            self.background.spawn(self._run(runner, *work))
        return web.json_response({"status": "accepted"})

    def _plan(self, event: dict) -> tuple[str, dict, str, str | None] | None:
        """What a delivery asks of us: (what, conversation, text, agent), or None to ignore it."""
        if event.get("event") != "message_created" or event.get("private"):
            return None
        conversation = {**event["conversation"], "account_id": (event.get("account") or {}).get("id")}
        status = str(conversation.get("status", ""))
        sender = event.get("sender") or {}
        kind = event.get("message_type")
        if kind == "incoming" and sender.get("type", "contact") == "contact":
            return ("customer", conversation, str(event.get("content") or ""), None)
        if kind == "outgoing" and sender.get("type") == "user" and status in BOT_STATUSES:
            return ("person_took_over", conversation, "", str(sender.get("name") or sender.get("id") or "agent"))
        return None  # our own posts echoed back, activity, templates

    async def _run(self, runner: TurnRunner, what: str, conversation: dict, text: str, agent: str | None) -> None:
        sender_id = f"chatwoot:{conversation.get('account_id')}:{conversation['id']}"
        status = str(conversation.get("status", ""))
        try:
            if what == "person_took_over":
                await runner.mirror_handoff(sender_id, True, agent, by="chatwoot")
                await self._toggle(conversation, "open")
                return
            assignee = ((conversation.get("meta") or {}).get("assignee") or {}).get("name")
            await runner.mirror_handoff(sender_id, status not in BOT_STATUSES, assignee, by="chatwoot")
            result = await runner.turn(UserMessage(text, sender_id, self.name, via=self.name))
        except Exception:
            log.exception("chatwoot: the turn for %s failed", sender_id)
            CHANNEL_ERRORS.labels(channel=self.name, kind="turn_failed").inc()
            return
        for message in result.messages:
            body = to_chatwoot(message)
            if body is not None:
                await self._post_message(conversation, body)
        if status in BOT_STATUSES and result.handoff.get("status") in ("queued", "human"):
            reason = result.handoff.get("reason") or "requested"
            note = f"Handed over by the bot ({reason}). Customer's last words: {result.handoff.get('summary') or ''}"
            await self._post_message(conversation, {"content": note.strip(), "private": True})
            await self._toggle(conversation, "open")

    # ------------------------------------------------------------------ outbound

    async def push(self, sender_id: str, messages: list[BotMessage]) -> bool:
        """People answer in Chatwoot itself; nothing to send from our desk."""
        return False

    def _conversation_url(self, conversation: dict) -> str:
        account = conversation.get("account_id")
        return f"{self.url}/api/v1/accounts/{account}/conversations/{conversation['id']}"

    async def _post_message(self, conversation: dict, body: dict) -> bool:
        return await self._call(f"{self._conversation_url(conversation)}/messages", body)

    async def _toggle(self, conversation: dict, status: str) -> bool:
        return await self._call(f"{self._conversation_url(conversation)}/toggle_status", {"status": status})

    async def _call(self, url: str, body: dict) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_S))
        try:
            async with self._session.post(url, json=body, headers={"api_access_token": self._token}) as resp:
                if resp.status // 100 == 2:
                    return True
                log.warning("chatwoot: %s answered HTTP %d", url.rsplit("/", 1)[-1], resp.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("chatwoot: call failed (%s)", type(exc).__name__)
        CHANNEL_ERRORS.labels(channel=self.name, kind="api").inc()
        return False
