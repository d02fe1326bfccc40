"""The WeChat / WeCom callback protocol as plain data: no HTTP server, no API client, no turn state.

It exists so the channel module only wires requests to turns. Here live: the checks on a callback's signed
query, the shape of a refused request and of the request a reply answers, how a turn's messages become one
text (and how a numbered answer picks a button back), the passive reply XML, and credentials.yml parsing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from multidict import MultiMapping

from agent.channels.base import BotMessage
from agent.channels.wechat_crypto import encrypt, signature
from agent.channels.wechat_xml import WeChatMessage, render_encrypted_reply, render_text_reply
from agent.errors import Errors

SUCCESS = "success"  # the body that tells WeChat "handled, do not retry" without a passive reply
REASONS = {
    HTTPStatus.BAD_REQUEST: "bad request",
    HTTPStatus.FORBIDDEN: "forbidden",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload too large",
}
MAX_PARAM_CHARS = 4096
MAX_NONCE_CHARS = 128
MAX_CHOICE_DIGITS = 4  # int() refuses thousands of digits (ValueError); no reply has more buttons than this
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_OPTIONAL_SECONDS = ("reply_deadline", "max_clock_skew")


class Rejected(Exception):
    """A refused request: the HTTP status and metric label, never request data."""

    def __init__(self, status: int, kind: str):
        super().__init__(kind)
        self.status, self.kind = status, kind


@dataclass(frozen=True)
class SignedRequest:
    """What a reply to this HTTP request needs: whether to encrypt it, and the signed timestamp/nonce."""

    encrypted: bool
    timestamp: str
    nonce: str


@dataclass(frozen=True)
class Envelope:
    """What safe mode needs to encrypt a passive reply."""

    key: bytes
    receive_id: str
    token: str
    random16: Callable[[], bytes]


def query_param(query: MultiMapping[str], name: str) -> str:
    """A required query parameter, refused (400) when missing, empty or oversized."""
    value = query.get(name)
    if not value or len(value) > MAX_PARAM_CHARS:
        raise Rejected(HTTPStatus.BAD_REQUEST, "params")
    return value


def fresh_timestamp_nonce(query: MultiMapping[str], now: float, max_clock_skew: float | None) -> tuple[str, str]:
    """The signed timestamp and nonce, refusing stale timestamps (replayed URLs)."""
    timestamp, nonce = query_param(query, "timestamp"), query_param(query, "nonce")
    if not _TIMESTAMP.fullmatch(timestamp) or len(nonce) > MAX_NONCE_CHARS:
        raise Rejected(HTTPStatus.BAD_REQUEST, "params")
    if max_clock_skew is not None and abs(now - int(timestamp)) > max_clock_skew:
        raise Rejected(HTTPStatus.FORBIDDEN, "stale")
    return timestamp, nonce


def dedupe_key(message: WeChatMessage) -> str:
    """What retries of one message share: MsgId, or sender+time+event for events (which have none)."""
    if message.msg_id:
        return f"msg:{message.msg_id}"
    return f"event:{message.from_user}:{message.create_time}:{message.event}:{message.event_key}"


def message_metadata(message: WeChatMessage) -> dict[str, Any]:
    """The message's non-empty platform fields, for the turn's metadata."""
    metadata = {
        "to_user": message.to_user,
        "msg_type": message.msg_type,
        "msg_id": message.msg_id,
        "create_time": message.create_time,
        "event": message.event,
        "event_key": message.event_key,
        "agent_id": message.agent_id,
    }
    return {key: value for key, value in metadata.items() if value not in ("", None)}


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


def pick_button(payloads: list[str] | None, text: str) -> str:
    """A bare number (full-width digits too) picks the payload of that button; any other text is kept."""
    picked = text.strip()
    if payloads and picked.isdecimal() and len(picked) <= MAX_CHOICE_DIGITS and 1 <= int(picked) <= len(payloads):
        return payloads[int(picked) - 1]
    return text


def render_passive_reply(
    text: str, to_user: str, from_user: str, create_time: int, request: SignedRequest, envelope: Envelope | None
) -> str:
    """The passive reply XML, in a safe-mode envelope when the request came encrypted and a key is set."""
    return seal(render_text_reply(to_user, from_user, create_time, text), request, envelope)


def seal(xml: str, request: SignedRequest, envelope: Envelope | None) -> str:
    """A passive reply as it leaves: in a safe-mode envelope when the request came encrypted."""
    if not request.encrypted or envelope is None:
        return xml
    encrypted = encrypt(xml, envelope.key, envelope.receive_id, envelope.random16())
    msg_signature = signature(envelope.token, request.timestamp, request.nonce, encrypted)
    return render_encrypted_reply(encrypted, msg_signature, request.timestamp, request.nonce)


def required_credentials(credentials: Mapping[str, Any] | None, channel: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The required keys as strings; names every missing one (never a value) in one AgentError."""
    credentials = credentials or {}
    missing = [key for key in keys if credentials.get(key) in (None, "")]
    if missing:
        raise Errors.CREDENTIALS_MISSING_KEYS.error(channel=channel, keys=", ".join(missing), why="")
    return {key: str(credentials[key]) for key in keys}


def channel_options(credentials: Mapping[str, Any], channel: str) -> dict[str, Any]:
    """Optional settings shared by both channels, converted and checked."""
    options: dict[str, Any] = {}
    if credentials.get("api_url"):
        options["api_url"] = str(credentials["api_url"])
    if credentials.get("greeting"):
        options["greeting"] = str(credentials["greeting"])
    for key in _OPTIONAL_SECONDS:
        if credentials.get(key) is not None:
            try:
                options[key] = float(credentials[key])
            except (TypeError, ValueError):
                raise Errors.CREDENTIALS_SECONDS.error(channel=channel, key=key) from None
    return options
