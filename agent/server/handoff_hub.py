"""Live handoff news for agent tools and customers' web clients: `handoff.*` and message events,
fanned out in this process to every open stream (the desk page, GET /handoffs/stream, a REST
customer's GET /webhooks/rest/stream). Turns and agent actions publish; subscribers read queues.

Across workers each process has its own hub: a stream sees what its own worker handled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from agent.core.events import (
    AgentUttered,
    BotUttered,
    Event,
    HandoffAssigned,
    HandoffReleased,
    HandoffRequested,
    HandoffTimeout,
    UserUttered,
)
from agent.metrics import HANDOFF_OUTCOMES, HANDOFF_QUEUE_WAIT, HANDOFFS

QUEUE_LIMIT = 1000  # a subscriber this far behind is dropped rather than let memory grow
_KINDS = {
    HandoffRequested: "handoff.requested",
    HandoffAssigned: "handoff.assigned",
    HandoffReleased: "handoff.released",
    HandoffTimeout: "handoff.timeout",
    UserUttered: "message.user",
    BotUttered: "message.bot",
    AgentUttered: "message.agent",
}


@dataclass(frozen=True)
class HubEvent:
    kind: str
    conversation_id: str
    event: dict
    handoff: dict

    def as_dict(self) -> dict:
        return {
            "type": self.kind,
            "conversation_id": self.conversation_id,
            "event": self.event,
            "handoff": self.handoff,
        }


class HandoffHub:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[HubEvent | None]] = set()

    def publish(self, conversation_id: str, events: Iterable[Event], handoff: dict, *, all_messages: bool) -> None:
        """Publish the handoff events of a turn, and its messages when a person is involved (or
        `all_messages`: the turn that changed the handoff)."""
        events = list(events)
        involved = all_messages or any(isinstance(e, (*_HANDOFF_TYPES, AgentUttered)) for e in events)
        for event in events:
            kind = _KINDS.get(type(event))
            if kind is None or (kind.startswith("message.") and not involved):
                continue
            _count(event, handoff)
            item = HubEvent(kind, conversation_id, event.as_dict(), handoff)
            for queue in list(self._subscribers):
                if queue.qsize() >= QUEUE_LIMIT:
                    self._subscribers.discard(queue)
                    queue.put_nowait(None)  # tells the reader it fell behind
                else:
                    queue.put_nowait(item)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[HubEvent | None]]:
        queue: asyncio.Queue[HubEvent | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()


_HANDOFF_TYPES = (HandoffRequested, HandoffAssigned, HandoffReleased, HandoffTimeout)


def _count(event: Event, handoff: dict) -> None:
    if isinstance(event, HandoffRequested):
        HANDOFFS.labels(reason=event.reason).inc()
    elif isinstance(event, HandoffAssigned):
        HANDOFF_OUTCOMES.labels(outcome="accepted").inc()
        if handoff.get("requested_at"):
            HANDOFF_QUEUE_WAIT.observe(max(0.0, event.timestamp - handoff["requested_at"]))
    elif isinstance(event, HandoffReleased):
        outcome = "abandoned" if event.by == "customer" else ("closed" if event.to == "closed" else "released")
        HANDOFF_OUTCOMES.labels(outcome=outcome).inc()
    elif isinstance(event, HandoffTimeout) and event.stage == "queue":
        HANDOFF_OUTCOMES.labels(outcome="abandoned").inc()
