"""A conversation's state as one JSON document, so a store loads a snapshot plus the events after it
instead of replaying the whole history (Rasa re-reads and re-saves the full tracker every turn).

A snapshot holds the compacted dialogue state (its origin and the events that still count), the
recent raw events and the session bookkeeping; its size does not grow with the conversation."""

from __future__ import annotations

import json
from typing import Any

from agent.bot.domain import Domain
from agent.core.events import Event, UserUttered, event_from_dict
from agent.core.handoff import HandoffState
from agent.core.tracker import KEEP_EVENTS, DialogueState, Tracker, replay
from agent.core.turns import StateView, Turns

# A durable store writes a snapshot once a conversation has grown this many events past the last one.
SNAPSHOT_EVERY = 100
VERSION = 1


def due(tracker: Tracker) -> bool:
    return tracker.event_count - tracker.snapshot_seq >= SNAPSHOT_EVERY


def encode(tracker: Tracker) -> str:
    """The tracker's snapshot at its current position (compact it first to keep it small)."""
    state = tracker.state
    last_user = tracker.last_user_event
    return json.dumps(
        {
            "version": VERSION,
            "seq": tracker.event_count,
            "origin": _state_dict(state.origin) if state.origin is not None else None,
            "applied": [e.as_dict() for e in state.applied],
            "recent": [e.as_dict() for e in tracker.events[-KEEP_EVENTS:]],
            "session_started": tracker.has_session(),
            "last_user": last_user.as_dict() if last_user is not None else None,
        }
    )


def decode(sender_id: str, domain: Domain, text: str, tail: list[Event]) -> Tracker:
    """The tracker a snapshot describes, with the events stored after it applied."""
    data = json.loads(text)
    if data.get("version") != VERSION:
        raise ValueError(f"snapshot version {data.get('version')!r} is not {VERSION}")
    tracker = Tracker(sender_id, domain)
    origin = _state_from(data["origin"], domain) if data["origin"] is not None else None
    tracker.state = replay([event_from_dict(e) for e in data["applied"]], domain, origin)
    tracker.events = [event_from_dict(e) for e in data["recent"]]
    tracker.offset = int(data["seq"]) - len(tracker.events)
    tracker.snapshot_seq = int(data["seq"])
    tracker._session_started = bool(data["session_started"])
    tracker.last_user_event = event_from_dict(data["last_user"]) if data["last_user"] else None
    tracker.extend(tail)
    return tracker


def _state_dict(state: DialogueState) -> dict[str, Any]:
    """Turn states share slot dicts (copy on write), so each distinct dict is written once."""
    tables: list[dict] = []
    index: dict[int, int] = {}

    def ref(slots: dict) -> int:
        if id(slots) not in index:
            index[id(slots)] = len(tables)
            tables.append(slots)
        return index[id(slots)]

    turns = state.turns
    return {
        "slots": state.slots,
        "active_loop": state.active_loop,
        "latest_message": state.latest_message.as_dict() if state.latest_message else None,
        "latest_action": state.latest_action,
        "latest_bot_utterance": state.latest_bot_utterance.as_dict() if state.latest_bot_utterance else None,
        "followup_action": state.followup_action,
        "paused": state.paused,
        "loop_interrupted": state.loop_interrupted,
        "loop_rejected": state.loop_rejected,
        "handoff": state.handoff.as_dict(),
        "turns": {
            "dropped": turns.dropped,
            "items": [list(item) for item in turns.items],
            "states": [[ref(v.slots), v.active_loop] for v in turns.states],
            "entities": [sorted(e) for e in turns.entities],
            "slot_tables": tables,
        },
    }


def _state_from(data: dict, domain: Domain) -> DialogueState:
    t = data["turns"]
    tables = t["slot_tables"]
    latest = data["latest_message"]
    bot = data["latest_bot_utterance"]
    message = event_from_dict(latest) if latest else None
    return DialogueState(
        slots=data["slots"],
        active_loop=data["active_loop"],
        latest_message=message if isinstance(message, UserUttered) else None,
        latest_action=data["latest_action"],
        latest_bot_utterance=event_from_dict(bot) if bot else None,
        followup_action=data["followup_action"],
        paused=data["paused"],
        loop_interrupted=data["loop_interrupted"],
        loop_rejected=data["loop_rejected"],
        handoff=HandoffState.from_dict(data.get("handoff")),
        turns=Turns(
            [tuple(item) for item in t["items"]],
            [StateView(tables[i], loop) for i, loop in t["states"]],
            [frozenset(e) for e in t["entities"]],
            t["dropped"],
        ),
    )
