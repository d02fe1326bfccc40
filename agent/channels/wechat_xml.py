"""WeChat / WeCom callback XML (PROTOCOLS.md §2.3, §2.4, §4.7): hardened parsing into a typed message and
rendering of passive replies. Inbound XML is attacker-controlled until authenticated, so parsing refuses
DTDs, entities and external references (defusedxml), caps size and element count, and rejects duplicates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_XML_BYTES = 64 * 1024
MAX_ELEMENTS = 256
# characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_IDENTIFIERS = (
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Event",
    "EventKey",
    "Recognition",
    "AgentID",
    "Encrypt",
)


class WeChatXmlError(ValueError):
    """The body is not a well-formed, harmless WeChat XML document; the message holds no request data."""


@dataclass(frozen=True)
class WeChatMessage:
    """The fields of one callback we act on; `fields` keeps every top-level field as text."""

    to_user: str = ""
    from_user: str = ""
    create_time: int | None = None
    msg_type: str = ""
    content: str = ""
    msg_id: str = ""
    event: str = ""
    event_key: str = ""
    recognition: str = ""
    agent_id: str = ""
    encrypt: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> WeChatMessage:
        """Identifiers are stripped; `Content` is user text and kept verbatim."""
        ident = {name: fields.get(name, "").strip() for name in _IDENTIFIERS}
        create_time = ident["CreateTime"]
        if create_time and not (create_time.isascii() and create_time.isdigit() and len(create_time) <= 12):
            raise WeChatXmlError("CreateTime is not a Unix time")  # thousands of digits: int() refuses them
        return cls(
            to_user=ident["ToUserName"],
            from_user=ident["FromUserName"],
            create_time=int(create_time) if create_time else None,
            msg_type=ident["MsgType"],
            content=fields.get("Content", ""),
            msg_id=ident["MsgId"],
            event=ident["Event"],
            event_key=ident["EventKey"],
            recognition=ident["Recognition"],
            agent_id=ident["AgentID"],
            encrypt=ident["Encrypt"],
            fields=dict(fields),
        )


def parse_fields(data: bytes | str, max_bytes: int = MAX_XML_BYTES) -> dict[str, str]:
    """Top-level `<xml>` children as {tag: text}; nested structures (e.g. SendPicsInfo) are kept as their
    own text only."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise WeChatXmlError("XML body too large")
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError, LookupError):  # LookupError: encoding="x-unknown"
        raise WeChatXmlError("XML is malformed or uses forbidden constructs") from None
    if root.tag != "xml":
        raise WeChatXmlError("root element is not <xml>")
    if sum(1 for _ in root.iter()) > MAX_ELEMENTS:
        raise WeChatXmlError("too many XML elements")
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in fields:
            raise WeChatXmlError("duplicate XML field")
        fields[child.tag] = child.text or ""
    return fields


def parse_message(data: bytes | str, max_bytes: int = MAX_XML_BYTES) -> WeChatMessage:
    return WeChatMessage.from_fields(parse_fields(data, max_bytes))


def cdata(text: str) -> str:
    """CDATA section for any text: `]]>` is split so generated text cannot close it and inject XML."""
    return "<![CDATA[" + _NOT_XML.sub("", text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text_reply(to_user: str, from_user: str, create_time: int, content: str) -> str:
    """Passive text reply; the caller passes the inbound From as `to_user` and To as `from_user`."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


def render_transfer_reply(to_user: str, from_user: str, create_time: int, kf_account: str | None = None) -> str:
    """Passive reply handing the user's message to WeChat's customer service (多客服) queue; with
    `kf_account`, to that agent."""
    target = f"<TransInfo><KfAccount>{cdata(kf_account)}</KfAccount></TransInfo>" if kf_account else ""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName><FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType>"
        f"{target}</xml>"
    )


def render_encrypted_reply(encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """Safe-mode envelope around an encrypted reply (field order as Tencent's samples)."""
    return (
        f"<xml><Encrypt>{cdata(encrypt)}</Encrypt><MsgSignature>{cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{escape(timestamp)}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
    )
