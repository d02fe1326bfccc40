"""Conversation events with Rasa's names and JSON form; the tracker's state is derived from them."""

from __future__ import annotations

import functools
import time
import types
import typing
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


@dataclass
class HandoffRequested(Event):
    """The conversation waits for a person: the bot falls silent (see agent.core.handoff)."""

    type_name: ClassVar[str] = "handoff_requested"
    reason: str = "requested"  # requested | repeated_fallback | negative_sentiment | api | a custom action's own
    queue: str = "default"
    summary: str | None = None


@dataclass
class HandoffAssigned(Event):
    type_name: ClassVar[str] = "handoff_assigned"
    agent: str = ""


@dataclass
class AgentUttered(Event):
    """A person's message to the customer: its own speaker, neither user nor bot."""

    type_name: ClassVar[str] = "agent"
    text: str | None = None
    agent: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class HandoffReleased(Event):
    type_name: ClassVar[str] = "handoff_released"
    by: str = ""  # the agent, "customer", or "system"
    to: str = "bot"  # bot | closed


@dataclass
class HandoffTimeout(Event):
    type_name: ClassVar[str] = "handoff_timeout"
    stage: str = "queue"  # queue: nobody accepted in time; agent: the agent went quiet


@dataclass
class HandoffLinked(Event):
    """Where a desk outside this server follows the handoff (a Slack thread: desk slack, ref C…/ts)."""

    type_name: ClassVar[str] = "handoff_linked"
    desk: str = ""
    ref: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (
        UserUttered,
        BotUttered,
        ActionExecuted,
        SlotSet,
        ActiveLoop,
        Restarted,
        SessionStarted,
        AllSlotsReset,
        UserUtteranceReverted,
        ActionReverted,
        FollowupAction,
        ConversationPaused,
        ConversationResumed,
        ActionExecutionRejected,
        LoopInterrupted,
        EntitiesAdded,
        HandoffRequested,
        HandoffAssigned,
        AgentUttered,
        HandoffReleased,
        HandoffTimeout,
        HandoffLinked,
    )
}
# Rasa's JSON uses different key names for a few fields than its Python classes do.
_JSON_RENAMES = {"action": {"name": "name"}, "action_execution_rejected": {"name": "name"}}
_JSON_ALIASES = {"form": "active_loop", "form_validation": "loop_interrupted"}


class EventFormatError(ValueError):
    pass


def event_from_dict(data: dict) -> Event:
    """Build an event from Rasa's JSON form (as action servers and the HTTP API send them). A field
    sent as null takes its default (rasa-sdk sends `"data": null` for some bot messages); a field of
    the wrong type is an EventFormatError naming it."""
    if not isinstance(data, dict):
        raise EventFormatError(f"an event must be a JSON object, got {type(data).__name__}")
    kind = data.get("event")
    kind = _JSON_ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventFormatError(f"unknown event type {data.get('event')!r}; known: {', '.join(EVENT_TYPES)}")
    hints = _field_types(cls)
    kwargs = {k: v for k, v in data.items() if k in hints}
    if kind == "slot" and "name" not in kwargs and "key" in data:
        kwargs["name"] = data["key"]
    if kind == "loop_interrupted" and "validate" in data:
        kwargs["is_interrupted"] = not data["validate"]
    for name in list(kwargs):
        allowed = hints[name]
        if kwargs[name] is None and type(None) not in allowed:
            del kwargs[name]  # null: the default
        elif allowed and not _is_one_of(kwargs[name], allowed):
            raise EventFormatError(
                f"'{kind}' event: '{name}' must be {' or '.join(_JSON_NAMES[t] for t in allowed)}, "
                f"got {_JSON_NAMES.get(type(kwargs[name]), type(kwargs[name]).__name__)}"
            )
    return cls(**kwargs)


_JSON_NAMES = {
    str: "a string",
    type(None): "null",
    dict: "an object",
    list: "a list",
    float: "a number",
    int: "a number",
    bool: "true or false",
}


@functools.cache
def _field_types(cls: type[Event]) -> dict[str, tuple[type, ...]]:
    """Each field's accepted JSON types (empty: anything, as a slot's value)."""
    out: dict[str, tuple[type, ...]] = {}
    for name, hint in typing.get_type_hints(cls).items():
        if typing.get_origin(hint) is ClassVar:
            continue
        options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
        out[name] = () if Any in options else tuple(typing.get_origin(o) or o for o in options)
    return out


def _is_one_of(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int) and float in allowed:
        return True
    return isinstance(value, allowed)


def events_from_dicts(items: list[dict]) -> list[Event]:
    return [event_from_dict(item) for item in items]
