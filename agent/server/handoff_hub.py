"""Live handoff news for agent tools and customers' web clients: `handoff.*` and message events,
fanned out to every open stream (the desk page, GET /handoffs/stream, a REST customer's
GET /webhooks/rest/stream). Turns and agent actions publish, under the conversation's lock, so one
conversation's news keeps its order; subscribers read queues.

Workers sharing a Redis or PostgreSQL tracker store pass their news over the store's bus
(agent.stores.bus), so a stream on one worker sees what every worker handled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
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
from agent.stores.bus import LocalBus

log = logging.getLogger(__name__)

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
    origin: str = ""  # the worker that published it

    def as_dict(self) -> dict:
        return {
            "type": self.kind,
            "conversation_id": self.conversation_id,
            "event": self.event,
            "handoff": self.handoff,
        }


class HandoffHub:
    def __init__(self, bus=None) -> None:
        self.bus = bus or LocalBus()
        self.origin = uuid.uuid4().hex  # this worker, so it skips its own news coming back
        self._subscribers: set[asyncio.Queue[HubEvent | None]] = set()

    async def publish(
        self, conversation_id: str, events: Iterable[Event], handoff: dict, *, all_messages: bool
    ) -> None:
        """Publish the handoff events of a turn, and its messages when a person is involved (or
        `all_messages`: the turn that changed the handoff). Call it holding the conversation's lock."""
        events = list(events)
        involved = all_messages or any(isinstance(e, (*_HANDOFF_TYPES, AgentUttered)) for e in events)
        items = []
        for event in events:
            kind = _KINDS.get(type(event))
            if kind is None or (kind.startswith("message.") and not involved):
                continue
            _count(event, handoff)
            items.append(HubEvent(kind, conversation_id, event.as_dict(), handoff, self.origin))
        if not items:
            return
        self._fan_out(items)
        if self.bus.crosses_workers:
            payload = json.dumps({"origin": self.origin, "items": [i.as_dict() for i in items]}, ensure_ascii=False)
            try:
                await self.bus.publish(payload)
            except Exception as exc:  # the news is lost for other workers; the conversation itself is stored
                log.warning("handoff news not sent to other workers (%s)", type(exc).__name__)

    async def listen(self) -> None:
        """Fan out what other workers publish, until cancelled."""
        await self.bus.listen(self._arrived)

    def _arrived(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            if data.get("origin") == self.origin:
                return
            origin = str(data["origin"])
            items = [HubEvent(i["type"], i["conversation_id"], i["event"], i["handoff"], origin) for i in data["items"]]
        except (ValueError, KeyError, TypeError):
            log.warning("handoff news: an unreadable item from another worker was dropped")
            return
        self._fan_out(items)

    def _fan_out(self, items: list[HubEvent]) -> None:
        for queue in list(self._subscribers):
            for item in items:
                if queue.qsize() >= QUEUE_LIMIT:
                    self._subscribers.discard(queue)
                    queue.put_nowait(None)  # tells the reader it fell behind
                    break
                queue.put_nowait(item)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[HubEvent | None]]:
        queue: asyncio.Queue[HubEvent | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def close(self) -> None:
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()
        await self.bus.close()


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
