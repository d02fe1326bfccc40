"""The dialogue state tracker: an append-only event log and the state derived from it."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.bot.domain import Domain
from agent.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    FollowupAction,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from agent.core.handoff import HANDOFF_EVENTS, HandoffState, fold_handoff
from agent.core.turns import StateView, Turns

ACTION_LISTEN = "action_listen"
# A long conversation keeps in memory (and in its snapshots) only its recent past: these many raw
# events (what action servers are sent by default), events that still count, and policy turn items.
KEEP_EVENTS = 100
KEEP_APPLIED = 50
KEEP_TURNS = 200


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
    handoff: HandoffState = field(default_factory=HandoffState)
    # Events that still count for the conversation (after restarts, sessions and reverts), replayed
    # from `origin`: the state before the first of them (None: the conversation's initial state).
    applied: list[Event] = field(default_factory=list)
    turns: Turns = field(default_factory=lambda: Turns([], [], []))
    origin: DialogueState | None = None


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
        # A customer waiting for (or talking to) a person keeps their place across sessions.
        slots = initial_slots(domain)
        origin = DialogueState(slots=slots, handoff=state.handoff)  # replays (and snapshots) start here
        state.__dict__.update(DialogueState(slots=slots, handoff=state.handoff, origin=origin).__dict__)
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
    else:
        state.handoff = fold_handoff(state.handoff, event)


def _start(origin: DialogueState | None, domain: Domain) -> DialogueState:
    if origin is None:
        return DialogueState(slots=initial_slots(domain))
    state = copy.copy(origin)
    state.applied, state.turns, state.origin = [], origin.turns.copy(), origin
    return state


def replay(events: Iterable[Event], domain: Domain, origin: DialogueState | None = None) -> DialogueState:
    state = _start(origin, domain)
    for e in events:
        apply_event(state, e, domain)
    return state


def compact_state(
    state: DialogueState, domain: Domain, keep_applied: int = KEEP_APPLIED, keep_turns: int = KEEP_TURNS
) -> None:
    """Fold all but the last `keep_applied` counting events into `origin`, so the state (and a
    snapshot of it) stays the same size however long the conversation grows. Done only past twice
    the limits, so the replay it costs is spread over many turns."""
    if len(state.turns.items) > 2 * keep_turns:
        state.turns.trim(keep_turns)
    extra = len(state.applied) - keep_applied
    if extra <= keep_applied:
        return
    origin = replay(state.applied[:extra], domain, state.origin)
    origin.applied, origin.origin = [], None
    origin.turns.trim(keep_turns)
    state.applied = state.applied[extra:]
    state.origin = origin


def _rewind_to_last_user(state: DialogueState, domain: Domain) -> None:
    events = state.applied
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], UserUttered):
            _replay_kept(state, events[:i], events[i:], domain)
            return


def _undo_last_action(state: DialogueState, domain: Domain) -> None:
    events = state.applied
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], ActionExecuted) and events[i].name != ACTION_LISTEN:
            _replay_kept(state, events[:i], events[i:], domain)
            return


def _replay_kept(state: DialogueState, kept: list[Event], undone: list[Event], domain: Domain) -> None:
    """Forget `undone`, except what passed between a person and the customer (a handoff is not the
    bot's guess to take back)."""
    handoff = [e for e in undone if isinstance(e, HANDOFF_EVENTS)]
    state.__dict__.update(replay([*kept, *handoff], domain, state.origin).__dict__)


EarlierEvents = Callable[[int], Awaitable[list[Event]]]


class Tracker:
    """One conversation: its events, plus the state they imply.

    `events` holds the conversation from position `offset` on. A tracker loaded from a snapshot, or
    compacted by its store after a save, holds only its recent events; `earlier(offset)` (set by the
    store) reads the ones before from storage when a caller needs the whole history."""

    def __init__(self, sender_id: str, domain: Domain, events: Iterable[Event] = ()):
        self.sender_id = sender_id
        self.domain = domain
        self.events: list[Event] = []
        self.offset = 0
        self.snapshot_seq = 0  # the position of the store's latest snapshot of this conversation
        self.earlier: EarlierEvents | None = None
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
    def event_count(self) -> int:
        """Events in the whole conversation, held or not: the next event's position."""
        return self.offset + len(self.events)

    def compact(self, keep_events: int = KEEP_EVENTS) -> None:
        """Bound what a long conversation holds in memory (stores call this after saving a turn)."""
        if len(self.events) > 2 * keep_events:
            drop = len(self.events) - keep_events
            del self.events[:drop]
            self.offset += drop
        compact_state(self.state, self.domain)

    async def history(self) -> list[Event]:
        """Every event of the conversation, read back from the store where not held."""
        if not self.offset:
            return list(self.events)
        if self.earlier is None:
            raise RuntimeError(
                f"conversation '{self.sender_id}' holds events from {self.offset} on and no store "
                "to read the earlier ones from"
            )
        return [*(await self.earlier(self.offset)), *self.events]

    @property
    def slots(self) -> dict[str, Any]:
        return self.state.slots

    @property
    def latest_message(self) -> UserUttered | None:
        return self.state.latest_message

    @property
    def active_loop(self) -> str | None:
        return self.state.active_loop

    def copy_with(self, events: Iterable[Event]) -> Tracker:
        """A copy with extra events applied, for asking an action about a state not yet committed."""
        view = Tracker(self.sender_id, self.domain)
        view.events = list(self.events)
        view.offset, view.snapshot_seq, view.earlier = self.offset, self.snapshot_seq, self.earlier
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

    def as_dict(self, events: list[Event] | None = None) -> dict:
        """Rasa's tracker JSON (as the HTTP API and action servers expect), with the given events
        (by default those held: the recent past of a long conversation)."""
        latest = self.latest_message
        return {
            "sender_id": self.sender_id,
            "conversation_id": self.sender_id,
            "slots": dict(self.slots),
            "latest_message": latest.parse_data | {"text": latest.text} if latest else {},
            "latest_event_time": self.last_event_time(),
            "followup_action": self.state.followup_action,
            "paused": self.state.paused,
            "handoff": self.state.handoff.as_dict(),
            "events": [e.as_dict() for e in (self.events if events is None else events)],
            "latest_input_channel": latest.input_channel if latest else None,
            "active_loop": {"name": self.active_loop} if self.active_loop else {},
            "latest_action": {"action_name": self.state.latest_action} if self.state.latest_action else {},
            "latest_action_name": self.state.latest_action,
        }
