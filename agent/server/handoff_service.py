"""What people do with a handed-off conversation, whatever desk they use (the agent API and page, a
Slack thread): request, accept, write, release, link a desk. Each change is decided and stored under
the conversation's lock (so of two agents accepting at once exactly one wins), published to the hub,
and an agent's message is delivered through the customer's own channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.bot.handoff_settings import HandoffSettings
from agent.core.actions.base import ActionContext
from agent.core.actions.handoff import queue_timed_out
from agent.core.events import (
    AgentUttered,
    BotUttered,
    Event,
    HandoffAssigned,
    HandoffLinked,
    HandoffReleased,
    HandoffRequested,
    HandoffTimeout,
)
from agent.core.handoff import CLOSED, HUMAN, QUEUED, HandoffState
from agent.core.tracker import Tracker


@dataclass(frozen=True)
class Outcome:
    """An HTTP-shaped answer: 200 with the new state, or 4xx with what was wrong."""

    code: int
    body: dict

    @property
    def ok(self) -> bool:
        return self.code == 200


Decide = Callable[[Tracker, HandoffState], "list[Event] | Outcome"]


def refused(code: int, message: str, state: HandoffState | None = None) -> Outcome:
    extra = {"status": state.status, "agent": state.agent} if state is not None else {}
    return Outcome(code, {"error": message, **extra})


def conflict(state: HandoffState, message: str) -> Outcome:
    return refused(409, f"{message}; it is {state.status}", state)


PUSHED = "pushed"  # a bot message's metadata: said outside a turn, so it goes out like an agent's


def _pushed(event: Event) -> bool:
    return isinstance(event, AgentUttered) or (isinstance(event, BotUttered) and bool(event.metadata.get(PUSHED)))


def agent_message(recipient: str, event: dict) -> dict:
    """A person's message as channels send bot messages, marked as the person's."""
    return {
        "recipient_id": recipient,
        "text": event.get("text"),
        "agent": event.get("agent"),
        **(event.get("data") or {}),
    }


class Handoffs:
    def __init__(self, runner, channels: dict):
        self.runner = runner
        self.channels = channels  # name -> Channel, for delivering agent messages
        self.store = runner.agent.processor.store
        self.domain = runner.agent.domain

    async def request(self, sender: str, reason: str, queue: str) -> Outcome:
        event = HandoffRequested(reason=reason, queue=queue)
        return await self.change(sender, lambda tracker, state: [event], create=True)

    async def accept(self, sender: str, agent: str) -> Outcome:
        def assign(tracker: Tracker, state: HandoffState) -> list[Event] | Outcome:
            if state.status != QUEUED:
                return conflict(state, "only a queued conversation can be accepted")
            return [HandoffAssigned(agent=agent)]

        return await self.change(sender, assign)

    async def say(self, sender: str, agent: str, text: str, accept: bool = False) -> Outcome:
        """An agent's message; with `accept`, writing to a queued conversation takes it first."""

        def write(tracker: Tracker, state: HandoffState) -> list[Event] | Outcome:
            taken = [HandoffAssigned(agent=agent)] if accept and state.status == QUEUED else []
            if not taken and state.status != HUMAN:
                return conflict(state, "accept the conversation before writing to the customer")
            if not taken and state.agent != agent:
                return refused(403, f"the conversation belongs to {state.agent}", state)
            return [*taken, AgentUttered(text=text, agent=agent)]

        return await self.change(sender, write)

    async def release(self, sender: str, agent: str, target: str) -> Outcome:
        def give_back(tracker: Tracker, state: HandoffState) -> list[Event] | Outcome:
            if not state.silent:
                return conflict(state, "the conversation is not with a person")
            if state.status == HUMAN and state.agent != agent:
                return refused(403, f"the conversation belongs to {state.agent}", state)
            return [HandoffReleased(by=agent, to=CLOSED if target == CLOSED else "bot")]

        return await self.change(sender, give_back)

    async def link(self, sender: str, desk: str, ref: str) -> Outcome:
        def linked(tracker: Tracker, state: HandoffState) -> list[Event] | Outcome:
            return [HandoffLinked(desk=desk, ref=ref)] if state.silent else conflict(state, "nothing to follow")

        return await self.change(sender, linked)

    async def change(self, sender: str, decide: Decide, create: bool = False) -> Outcome:
        """Decide and append under the conversation's lock, so two agents never both win."""
        async with self.runner.locks.hold(sender):
            tracker = await (self.store.get_or_create if create else self.store.retrieve)(sender, self.domain)
            if tracker is None:
                return refused(404, "no such conversation")
            state = tracker.state.handoff
            if create and state.silent:
                return conflict(state, "the conversation is already with a person or waiting for one")
            events = decide(tracker, state)
            if isinstance(events, Outcome):
                return events
            tracker.extend(events)
            await self.store.save(tracker, events)
            handoff = tracker.state.handoff.as_dict()
            await self.runner.hub.publish(sender, events, handoff, all_messages=True)
        delivered = await self.deliver(tracker, events)
        return Outcome(200, {"conversation_id": sender, "handoff": handoff, "delivered": delivered})

    async def expire(self, sender: str, settings: HandoffSettings, now: float) -> Outcome:
        """A timeout nobody's message revealed: nobody accepted in time (back to the bot, which tells the
        customer), or the agent went quiet (back to the queue). 409 when none is due."""
        processor = self.runner.agent.processor

        def due(tracker: Tracker, state: HandoffState) -> list[Event] | Outcome:
            if state.status == QUEUED and settings.queue_timeout and state.requested_at is not None:
                if now - state.requested_at > settings.queue_timeout:
                    latest = tracker.latest_message
                    channel = latest.input_channel if latest else None
                    ctx = ActionContext(tracker, self.domain, processor.nlg, channel, processor.actions)
                    told = [replace(e, metadata={**e.metadata, PUSHED: True}) for e in queue_timed_out(ctx)]
                    return [HandoffTimeout(stage="queue", timestamp=now), *told]
            if state.status == HUMAN and settings.agent_timeout:
                last = state.last_agent_message_at or state.assigned_at or now
                if now - last > settings.agent_timeout:
                    return [HandoffTimeout(stage="agent", timestamp=now)]
            return conflict(state, "no timeout is due")

        return await self.change(sender, due)

    async def deliver(self, tracker: Tracker, events: list[Event]) -> bool | None:
        """Agent messages (and what the bot says outside a turn) go to the customer through the channel
        they last wrote on (None: nothing to send). A REST customer's stream gets them from the hub, on
        whichever worker it is open."""
        messages = [agent_message(tracker.sender_id, e.as_dict()) for e in events if _pushed(e)]
        if not messages:
            return None
        latest = tracker.latest_message
        channel = self.channels.get(latest.input_channel) if latest and latest.input_channel else None
        if channel is None or channel.name == "rest":
            return True  # published to the REST customer's stream(s)
        return await channel.push(tracker.sender_id, messages)

    async def find(self, wanted: Callable[[HandoffState], bool]) -> list[Tracker]:
        """Conversations whose handoff state passes `wanted` (reads every conversation of the store)."""
        listing = getattr(self.store, "sender_ids", None)
        found = []
        for sender in list(await listing()) if listing is not None else []:
            tracker = await self.store.peek(sender, self.domain)
            if tracker is not None and wanted(tracker.state.handoff):
                found.append(tracker)
        return found
