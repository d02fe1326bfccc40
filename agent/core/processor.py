"""One user turn: start or renew the session, understand the message, then act until listening."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from agent.bot.config import SentimentConfig
from agent.bot.domain import Domain
from agent.bot.handoff_settings import HandoffSettings
from agent.core.actions.base import Action, ActionContext
from agent.core.actions.builtin import UnavailableAction
from agent.core.actions.handoff import ActionHandoff, queue_timed_out
from agent.core.actions.registry import ActionRegistry
from agent.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    BotUttered,
    Event,
    HandoffReleased,
    HandoffRequested,
    HandoffTimeout,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from agent.core.frustration import WINDOW as FRUSTRATION_WINDOW
from agent.core.frustration import frustration
from agent.core.handoff import HUMAN, QUEUED
from agent.core.nlg import ResponseGenerator
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.slot_filling import extract_slots
from agent.core.tracker import ACTION_LISTEN, Tracker

log = logging.getLogger(__name__)
# The NLU as the processor calls it: (text, the conversation's language so far) -> Rasa parse data
Parser = Callable[[str, str | None], Awaitable[dict]]


class ConversationStore(Protocol):
    """What the processor needs of a tracker store (agent.stores implements it)."""

    async def get_or_create(self, sender_id: str, domain: Domain) -> Tracker: ...

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None: ...


MAX_ACTIONS_PER_TURN = 10
FRUSTRATED_AFTER = 2  # customer messages before frustration may act
NLU_FALLBACK = "nlu_fallback"
STOP_AFTER = {ACTION_LISTEN, "action_default_fallback", "action_restart", "action_session_start"}


@dataclass(frozen=True)
class UserMessage:
    """One user message, from whichever channel received it to the processor."""

    text: str
    sender_id: str = "default"
    input_channel: str | None = None  # Rasa's input_channel (a REST client may set it to anything)
    message_id: str | None = None
    metadata: dict = field(default_factory=dict)
    # The connector that received it. Metrics are labelled with this, never with `input_channel`
    # (an unbounded number of Prometheus series).
    via: str = ""


@dataclass
class TurnResult:
    messages: list[dict]  # what to send back: {"text", "buttons", "image", ...}
    events: list[Event]  # everything this turn appended to the tracker
    warnings: list[str] = field(default_factory=list)
    slots: dict = field(default_factory=dict)  # the conversation's slots after the turn
    handoff: dict = field(default_factory=dict)  # the conversation's handoff state after the turn


@dataclass
class MessageProcessor:
    domain: Domain
    parse: Parser  # the runtime's NLU, or the server's micro-batching coroutine
    policies: PolicyEnsemble
    store: ConversationStore
    nlg: ResponseGenerator
    actions: ActionRegistry
    handoff: HandoffSettings = field(default_factory=HandoffSettings)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)  # the frustration threshold and action

    async def handle_message(self, message: UserMessage) -> TurnResult:
        tracker = await self.store.get_or_create(message.sender_id, self.domain)
        start = len(tracker.events)
        warnings: list[str] = []
        if self._needs_session_start(tracker):
            await self._run_action("action_session_start", tracker, message.input_channel, None, warnings)
        previous = tracker.latest_message.parse_data.get("language") if tracker.latest_message else None
        parse_data = await self.parse(message.text, previous)
        tracker.append(
            UserUttered(
                text=message.text,
                parse_data=parse_data,
                input_channel=message.input_channel,
                message_id=message.message_id,
                metadata=message.metadata,
            )
        )
        self._check_handoff_timeouts(tracker, message.input_channel)
        self._cancel_queued_handoff(tracker)
        if self._stays_silent(tracker):
            # a person has (or is about to have) the conversation: store the message for them, say nothing
            tracker.append(ActionExecuted(name=ACTION_LISTEN))
        else:
            tracker.extend(extract_slots(tracker, self.domain))
            tracker.extend(self.mood_slots(tracker))
            await self._act(tracker, message, warnings)
        new_events = tracker.events[start:]
        await self.store.save(tracker, new_events)
        messages = [self._message(e, message.sender_id) for e in new_events if isinstance(e, BotUttered)]
        return TurnResult(messages, new_events, warnings, dict(tracker.slots), tracker.state.handoff.as_dict())

    async def _act(self, tracker: Tracker, message: UserMessage, warnings: list[str]) -> None:
        """Predict and run actions until the bot listens (or a handoff trigger hands the turn over)."""
        trigger = self._trigger(tracker)
        if trigger is not None:
            await self._run_action(trigger, tracker, message.input_channel, None, warnings)
            tracker.append(ActionExecuted(name=ACTION_LISTEN))
            return
        rejected: set[str] = set()
        for _ in range(MAX_ACTIONS_PER_TURN):
            prediction = self.policies.predict(tracker, self.domain, frozenset(rejected))
            before = len(tracker.events)
            if prediction.action == ACTION_LISTEN:
                tracker.append(
                    ActionExecuted(name=ACTION_LISTEN, policy=prediction.policy, confidence=prediction.confidence)
                )
                return
            if not await self._run_action(prediction.action, tracker, message.input_channel, prediction, warnings):
                rejected.add(prediction.action)
                continue
            rejected.clear()
            rewound = any(isinstance(e, UserUtteranceReverted) for e in tracker.events[before:])
            if prediction.action in STOP_AFTER or rewound:
                tracker.append(ActionExecuted(name=ACTION_LISTEN))
                return
        warnings.append(f"stopped after {MAX_ACTIONS_PER_TURN} actions in one turn; check your rules for loops")
        tracker.append(ActionExecuted(name=ACTION_LISTEN))

    def _cancel_queued_handoff(self, tracker: Tracker) -> None:
        """While still queued, a cancel intent from endpoints.yml (or a restart) gives the conversation
        back to the bot; once a person has it, only they give it back."""
        intent = tracker.latest_message.intent_name if tracker.latest_message else None
        if tracker.state.handoff.status == QUEUED and (intent in self.handoff.cancel_intents or intent == "restart"):
            tracker.append(HandoffReleased(by="customer", to="bot"))

    def _stays_silent(self, tracker: Tracker) -> bool:
        """The silence rule: paused (Rasa's pause, except a restart) or handed off to a person."""
        if tracker.state.paused:
            return tracker.latest_message is None or tracker.latest_message.intent_name != "restart"
        return tracker.state.handoff.silent

    def _check_handoff_timeouts(self, tracker: Tracker, channel: str | None) -> None:
        """Timeouts are noticed when the customer writes: nobody accepted in time (back to the bot,
        which says so and answers this message), or the agent went quiet (back to the queue)."""
        handoff, now = tracker.state.handoff, time.time()
        if handoff.status == QUEUED and self.handoff.queue_timeout and handoff.requested_at is not None:
            if now - handoff.requested_at > self.handoff.queue_timeout:
                tracker.append(HandoffTimeout(stage="queue"))
                tracker.extend(queue_timed_out(ActionContext(tracker, self.domain, self.nlg, channel, self.actions)))
        elif handoff.status == HUMAN and self.handoff.agent_timeout:
            last = handoff.last_agent_message_at or handoff.assigned_at or now
            if now - last > self.handoff.agent_timeout:
                tracker.append(HandoffTimeout(stage="agent"))

    def mood_slots(self, tracker: Tracker) -> list[Event]:
        """The `sentiment` and `frustration` slots, where the domain declares them (the frustration's
        evidence rides in the event's metadata: why the score is what it is)."""
        latest = tracker.latest_message
        mood = (latest.parse_data.get("sentiment") or {}) if latest else {}
        if not mood:
            return []
        events: list[Event] = []
        if "sentiment" in self.domain.slots:
            events.append(SlotSet(name="sentiment", value=mood.get("label")))
        if "frustration" in self.domain.slots:
            found = frustration(_recent_user_messages(tracker, FRUSTRATION_WINDOW))
            events.append(SlotSet(name="frustration", value=found.score, metadata={"evidence": found.evidence}))
        return events

    def _trigger(self, tracker: Tracker) -> Action | None:
        """What to run now without asking the policies: a handoff trigger from endpoints.yml, or the
        frustration action when the score has just crossed its threshold."""
        reason = self._handoff_trigger(tracker)
        if reason is not None:
            return self.actions.handoff_action(reason)
        threshold = self.sentiment.frustration_threshold
        if threshold is None:
            return None
        recent = _recent_user_messages(tracker, FRUSTRATION_WINDOW + 1)
        if len(recent) < FRUSTRATED_AFTER:
            return None  # one message is a complaint to answer; frustration takes a conversation
        if frustration(recent).score >= threshold > frustration(recent[:-1]).score:
            name = self.sentiment.frustration_action
            return self.actions.handoff_action("frustration") if name == ActionHandoff.name else self.actions.get(name)
        return None

    def _handoff_trigger(self, tracker: Tracker) -> str | None:
        """The reason to hand off now without asking the policies, from the `handoff:` triggers."""
        recent = _recent_user_messages(tracker, max(self.handoff.after_fallbacks, self.handoff.after_negative))
        n = self.handoff.after_fallbacks
        if n and len(recent) >= n and all(u.intent_name == NLU_FALLBACK for u in recent[-n:]):
            return "repeated_fallback"
        n = self.handoff.after_negative
        if n and len(recent) >= n and all(_sentiment(u) == "negative" for u in recent[-n:]):
            return "negative_sentiment"
        return None

    def _needs_session_start(self, tracker: Tracker) -> bool:
        if not tracker.has_session():
            return True
        minutes = self.domain.session_config.session_expiration_time
        last_user = tracker.last_user_event
        return bool(minutes > 0 and last_user and time.time() - last_user.timestamp > minutes * 60)

    async def _run_action(
        self, name: str | Action, tracker: Tracker, channel: str | None, prediction, warnings: list[str]
    ) -> bool:
        """Run an action (by name, or one already made) and record its events; False when it rejected
        execution."""
        action = self.actions.get(name) if isinstance(name, str) else name
        name = action.name
        ctx = ActionContext(tracker, self.domain, self.nlg, channel, self.actions)
        events = await action.run(ctx)
        warnings += ctx.warnings
        if any(isinstance(e, ActionExecutionRejected) for e in events):
            tracker.extend(events)  # a rejected action did not happen: no ActionExecuted
            return False
        if isinstance(action, UnavailableAction):
            warnings.append(f"'{name}' was predicted, but {action.reason}")
            log.warning("action %s not run: %s", name, action.reason)
        executed = ActionExecuted(
            name=name,
            policy=prediction.policy if prediction else None,
            confidence=prediction.confidence if prediction else None,
        )
        # Rasa's order: the action first, then its events (for a session start: SessionStarted,
        # carried-over slots, action_listen).
        tracker.append(executed)
        tracker.extend(events)
        return True

    @staticmethod
    def _message(event: BotUttered, recipient: str) -> dict:
        out = {"recipient_id": recipient}
        if event.text is not None:
            out["text"] = event.text
        out.update(event.data)
        return out


def _recent_user_messages(tracker: Tracker, n: int) -> list[UserUttered]:
    """The last n user messages as received (reverted ones too: a fallback reverts its message), back
    to the start of the session or the latest handoff, oldest first."""
    found: list[UserUttered] = []
    for event in reversed(tracker.events):
        if len(found) >= n or isinstance(event, (HandoffRequested, HandoffReleased, SessionStarted, Restarted)):
            break
        if isinstance(event, UserUttered):
            found.append(event)
    return found[::-1]


def _sentiment(message: UserUttered) -> str | None:
    return (message.parse_data.get("sentiment") or {}).get("label")
