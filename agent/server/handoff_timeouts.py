"""Timeouts nobody's message reveals: a customer who waits in the queue without writing again, an agent
who goes quiet. The processor notices them when the customer writes; this sweeper, every SWEEP_S,
checks the conversations that are with people (seeded from the store at start, then followed through
the hub, which carries every worker's news), so the queue, the desk and the abandonment metrics stay
true. Every worker sweeps; the conversation's lock and a re-check of its state let only one act."""

from __future__ import annotations

import asyncio
import logging
import time

from agent.server.handoff_hub import HandoffHub
from agent.server.handoff_service import Handoffs

log = logging.getLogger(__name__)

SWEEP_S = 15.0
WATCH = {"handoff.requested", "handoff.assigned", "message.agent"}
UNWATCH = {"handoff.released"}


class HandoffTimeouts:
    def __init__(self, handoffs: Handoffs, hub: HandoffHub, sweep_s: float = SWEEP_S, clock=time.time):
        self.handoffs, self.hub, self.sweep_s, self.clock = handoffs, hub, sweep_s, clock
        self.settings = handoffs.runner.agent.processor.handoff
        self.watching: set[str] = set()

    @property
    def needed(self) -> bool:
        return bool(self.settings.queue_timeout or self.settings.agent_timeout)

    async def run(self) -> None:
        self.watching = {t.sender_id for t in await self.handoffs.find(lambda state: state.silent)}
        async with self.hub.subscribe() as queue:
            next_sweep = self.clock() + self.sweep_s
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), max(0.0, next_sweep - self.clock()))
                except asyncio.TimeoutError:
                    await self.sweep()
                    next_sweep = self.clock() + self.sweep_s
                    continue
                if item is None:
                    return
                if item.kind in WATCH or item.handoff.get("status") in ("queued", "human"):
                    self.watching.add(item.conversation_id)
                elif item.kind in UNWATCH or item.handoff.get("status") in ("bot", "closed"):
                    self.watching.discard(item.conversation_id)

    async def sweep(self) -> None:
        now = self.clock()
        for sender in sorted(self.watching):
            try:
                outcome = await self.handoffs.expire(sender, self.settings, now)
            except Exception:
                log.exception("handoff timeouts: could not check %s", sender)
                continue
            if outcome.ok and outcome.body["handoff"]["status"] == "bot":
                self.watching.discard(sender)
