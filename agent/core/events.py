"""Conversation events with Rasa's names and JSON form; the tracker's state is derived from them."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


@dataclass
class Event:
    type_name: ClassVar[str] = ""
    timestamp: float = field(default_factory=time.time, kw_only=True)
    metadata: dict = field(default_factory=dict, kw_only=True)

    def as_dict(self) -> dict:
        out: dict[str, Any] = {"event": self.type_name, "timestamp": self.timestamp}
        for f in fields(self):
            if f.name not in ("timestamp",):
                out[f.name] = getattr(self, f.name)
        return out


@dataclass
class UserUttered(Event):
    type_name: ClassVar[str] = "user"
    text: str | None = None
    parse_data: dict = field(default_factory=dict)
    input_channel: str | None = None
    message_id: str | None = None

    @property
    def intent_name(self) -> str | None:
        return (self.parse_data.get("intent") or {}).get("name")

    @property
    def entities(self) -> list[dict]:
        return self.parse_data.get("entities") or []


@dataclass
class BotUttered(Event):
    type_name: ClassVar[str] = "bot"
    text: str | None = None
    data: dict = field(default_factory=dict)


@dataclass
class ActionExecuted(Event):
    type_name: ClassVar[str] = "action"
    name: str = ""
    policy: str | None = None
    confidence: float | None = None


@dataclass
class SlotSet(Event):
    type_name: ClassVar[str] = "slot"
    name: str = ""
    value: Any = None


@dataclass
class ActiveLoop(Event):
    type_name: ClassVar[str] = "active_loop"
    name: str | None = None


@dataclass
class Restarted(Event):
    type_name: ClassVar[str] = "restart"


@dataclass
class SessionStarted(Event):
    type_name: ClassVar[str] = "session_started"


@dataclass
class AllSlotsReset(Event):
    type_name: ClassVar[str] = "reset_slots"


@dataclass
class UserUtteranceReverted(Event):
    """Undo everything back to and including the latest user message (Rasa's `rewind`)."""

    type_name: ClassVar[str] = "rewind"


@dataclass
class ActionReverted(Event):
    type_name: ClassVar[str] = "undo"


@dataclass
class FollowupAction(Event):
    type_name: ClassVar[str] = "followup"
    name: str = ""


@dataclass
class ConversationPaused(Event):
    type_name: ClassVar[str] = "pause"


@dataclass
class ConversationResumed(Event):
    type_name: ClassVar[str] = "resume"


@dataclass
class ActionExecutionRejected(Event):
    type_name: ClassVar[str] = "action_execution_rejected"
    name: str = ""
    policy: str | None = None
    confidence: float | None = None


@dataclass
class LoopInterrupted(Event):
    type_name: ClassVar[str] = "loop_interrupted"
    is_interrupted: bool = False


@dataclass
class EntitiesAdded(Event):
    type_name: ClassVar[str] = "entities"
    entities: list = field(default_factory=list)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (UserUttered, BotUttered, ActionExecuted, SlotSet, ActiveLoop, Restarted, SessionStarted,
                AllSlotsReset, UserUtteranceReverted, ActionReverted, FollowupAction, ConversationPaused,
                ConversationResumed, ActionExecutionRejected, LoopInterrupted, EntitiesAdded)
}
# Rasa's JSON uses different key names for a few fields than its Python classes do.
_JSON_RENAMES = {"action": {"name": "name"}, "action_execution_rejected": {"name": "name"}}
_JSON_ALIASES = {"form": "active_loop", "form_validation": "loop_interrupted"}


class EventFormatError(ValueError):
    pass


def event_from_dict(data: dict) -> Event:
    """Build an event from Rasa's JSON form (as action servers and the HTTP API send them)."""
    kind = data.get("event")
    kind = _JSON_ALIASES.get(kind, kind)
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise EventFormatError(f"unknown event type {data.get('event')!r}; known: {', '.join(EVENT_TYPES)}")
    known = {f.name for f in fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in known}
    if kind == "slot" and "name" not in kwargs and "key" in data:
        kwargs["name"] = data["key"]
    if kind == "loop_interrupted" and "validate" in data:
        kwargs["is_interrupted"] = not data["validate"]
    if kwargs.get("metadata") is None:
        kwargs.pop("metadata", None)
    if kwargs.get("timestamp") is None:
        kwargs.pop("timestamp", None)
    return cls(**kwargs)


def events_from_dicts(items: list[dict]) -> list[Event]:
    return [event_from_dict(item) for item in items]
