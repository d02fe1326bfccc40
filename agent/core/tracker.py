"""The dialogue state tracker: an append-only event log and the state derived from it."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterable

from agent.bot.domain import Domain
from agent.core.turns import StateView, Turns
from agent.core.events import (
    ActionExecuted, ActionExecutionRejected, ActionReverted, ActiveLoop, AllSlotsReset, BotUttered, ConversationPaused,
    ConversationResumed, Event, FollowupAction, LoopInterrupted, Restarted, SessionStarted, SlotSet,
    UserUtteranceReverted, UserUttered,
)

ACTION_LISTEN = "action_listen"


@dataclass
class DialogueState:
    """Everything policies and actions read; rebuilt by replaying events (or from a snapshot later)."""

    slots: dict[str, Any] = field(default_factory=dict)
    active_loop: str | None = None
    latest_message: UserUttered | None = None
    latest_action: str | None = None
    latest_bot_utterance: BotUttered | None = None
    followup_action: str | None = None
    paused: bool = False
    loop_interrupted: bool = False
    loop_rejected: bool = False  # the active form could not use the latest user message
    # Events that still count for the conversation (after restarts, sessions and reverts).
    applied: list[Event] = field(default_factory=list)
    turns: Turns = field(default_factory=lambda: Turns([], [], []))


def initial_slots(domain: Domain) -> dict[str, Any]:
    slots = {name: copy.deepcopy(slot.initial_value) for name, slot in domain.slots.items()}
    slots.setdefault("requested_slot", None)
    return slots


def apply_event(state: DialogueState, event: Event, domain: Domain) -> None:
    """Fold one event into the state. Pure bookkeeping: no I/O, no policy logic."""
    if isinstance(event, Restarted):
        fresh = DialogueState(slots=initial_slots(domain))
        state.__dict__.update(fresh.__dict__)
        state.applied.append(event)
        return
    if isinstance(event, SessionStarted):
        # A new session starts from scratch; carried-over slots arrive as SlotSet events after it.
        state.__dict__.update(DialogueState(slots=initial_slots(domain)).__dict__)
        state.applied.append(event)
        return
    if isinstance(event, UserUtteranceReverted):
        _rewind_to_last_user(state, domain)
        return
    if isinstance(event, ActionReverted):
        _undo_last_action(state, domain)
        return
    state.applied.append(event)
    view = StateView(state.slots, state.active_loop)
    if isinstance(event, UserUttered):
        state.turns.add_user(event.intent_name, frozenset(e.get("entity") for e in event.entities), view)
        state.latest_message = event
        state.followup_action = None
        state.loop_rejected = False
    elif isinstance(event, BotUttered):
        state.latest_bot_utterance = event
    elif isinstance(event, ActionExecuted):
        state.turns.add_action(event.name, view)
        state.latest_action = event.name
        if event.name == state.active_loop:
            state.loop_rejected = False
        if state.followup_action == event.name:
            state.followup_action = None
    elif isinstance(event, ActionExecutionRejected):
        if event.name == state.active_loop:
            state.loop_rejected = True
    elif isinstance(event, SlotSet):
        state.slots = {**state.slots, event.name: event.value}  # copy on write: StateViews keep theirs
    elif isinstance(event, AllSlotsReset):
        state.slots = initial_slots(domain)
    elif isinstance(event, ActiveLoop):
        state.turns.add_loop(event.name, view)
        state.active_loop = event.name
        state.loop_interrupted = False
        state.loop_rejected = False
    elif isinstance(event, LoopInterrupted):
        state.loop_interrupted = event.is_interrupted
    elif isinstance(event, FollowupAction):
        state.followup_action = event.name
    elif isinstance(event, ConversationPaused):
        state.paused = True
    elif isinstance(event, ConversationResumed):
        state.paused = False


def _replay(events: Iterable[Event], domain: Domain) -> DialogueState:
    state = DialogueState(slots=initial_slots(domain))
    for e in events:
        apply_event(state, e, domain)
    return state


def _rewind_to_last_user(state: DialogueState, domain: Domain) -> None:
    events = state.applied
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], UserUttered):
            state.__dict__.update(_replay(events[:i], domain).__dict__)
            return


def _undo_last_action(state: DialogueState, domain: Domain) -> None:
    events = state.applied
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], ActionExecuted) and events[i].name != ACTION_LISTEN:
            state.__dict__.update(_replay(events[:i], domain).__dict__)
            return


class Tracker:
    """One conversation: every event ever appended, plus the state they imply."""

    def __init__(self, sender_id: str, domain: Domain, events: Iterable[Event] = ()):
        self.sender_id = sender_id
        self.domain = domain
        self.events: list[Event] = []
        self.state = DialogueState(slots=initial_slots(domain))
        # kept on append so the per-message session check never scans the whole log
        self._session_started = False
        self.last_user_event: UserUttered | None = None  # even if later reverted: it was user activity
        for e in events:
            self.append(e)

    def append(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, SessionStarted):
            self._session_started = True
        elif isinstance(event, UserUttered):
            self.last_user_event = event
        apply_event(self.state, event, self.domain)

    def extend(self, events: Iterable[Event]) -> None:
        for e in events:
            self.append(e)

    @property
    def slots(self) -> dict[str, Any]:
        return self.state.slots

    @property
    def latest_message(self) -> UserUttered | None:
        return self.state.latest_message

    @property
    def active_loop(self) -> str | None:
        return self.state.active_loop

    def copy_with(self, events: Iterable[Event]) -> "Tracker":
        """A copy with extra events applied, for asking an action about a state not yet committed."""
        view = Tracker(self.sender_id, self.domain)
        view.events = list(self.events)
        view._session_started, view.last_user_event = self._session_started, self.last_user_event
        view.state = copy.copy(self.state)
        view.state.applied = list(self.state.applied)
        view.state.turns = self.state.turns.copy()
        view.extend(events)
        return view

    def has_session(self) -> bool:
        return self._session_started

    def last_event_time(self) -> float | None:
        return self.events[-1].timestamp if self.events else None

    def applied_events(self) -> list[Event]:
        return self.state.applied

    def as_dict(self) -> dict:
        """Rasa's tracker JSON (as the HTTP API and action servers expect)."""
        latest = self.latest_message
        return {
            "sender_id": self.sender_id,
            "conversation_id": self.sender_id,
            "slots": dict(self.slots),
            "latest_message": latest.parse_data | {"text": latest.text} if latest else {},
            "latest_event_time": self.last_event_time(),
            "followup_action": self.state.followup_action,
            "paused": self.state.paused,
            "events": [e.as_dict() for e in self.events],
            "latest_input_channel": latest.input_channel if latest else None,
            "active_loop": {"name": self.active_loop} if self.active_loop else {},
            "latest_action": {"action_name": self.state.latest_action} if self.state.latest_action else {},
            "latest_action_name": self.state.latest_action,
        }
