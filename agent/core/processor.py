"""One user turn: start or renew the session, understand the message, then act until listening."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from agent.bot.domain import Domain
from agent.core.actions.base import ActionContext
from agent.core.actions.builtin import UnavailableAction
from agent.core.actions.registry import ActionRegistry
from agent.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    BotUttered,
    Event,
    UserUtteranceReverted,
    UserUttered,
)
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


@dataclass
class MessageProcessor:
    domain: Domain
    parse: Parser  # the runtime's NLU, or the server's micro-batching coroutine
    policies: PolicyEnsemble
    store: ConversationStore
    nlg: ResponseGenerator
    actions: ActionRegistry

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
        tracker.extend(extract_slots(tracker, self.domain))
        rejected: set[str] = set()
        for _ in range(MAX_ACTIONS_PER_TURN):
            prediction = self.policies.predict(tracker, self.domain, frozenset(rejected))
            before = len(tracker.events)
            if prediction.action == ACTION_LISTEN:
                tracker.append(
                    ActionExecuted(name=ACTION_LISTEN, policy=prediction.policy, confidence=prediction.confidence)
                )
                break
            if not await self._run_action(prediction.action, tracker, message.input_channel, prediction, warnings):
                rejected.add(prediction.action)
                continue
            rejected.clear()
            rewound = any(isinstance(e, UserUtteranceReverted) for e in tracker.events[before:])
            if prediction.action in STOP_AFTER or rewound:
                tracker.append(ActionExecuted(name=ACTION_LISTEN))
                break
        else:
            warnings.append(f"stopped after {MAX_ACTIONS_PER_TURN} actions in one turn; check your rules for loops")
            tracker.append(ActionExecuted(name=ACTION_LISTEN))
        new_events = tracker.events[start:]
        await self.store.save(tracker, new_events)
        messages = [self._message(e, message.sender_id) for e in new_events if isinstance(e, BotUttered)]
        return TurnResult(messages, new_events, warnings, dict(tracker.slots))

    def _needs_session_start(self, tracker: Tracker) -> bool:
        if not tracker.has_session():
            return True
        minutes = self.domain.session_config.session_expiration_time
        last_user = tracker.last_user_event
        return bool(minutes > 0 and last_user and time.time() - last_user.timestamp > minutes * 60)

    async def _run_action(
        self, name: str, tracker: Tracker, channel: str | None, prediction, warnings: list[str]
    ) -> bool:
        """Run an action and record its events; False when it rejected execution."""
        action = self.actions.get(name)
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
