"""Turns for the server: strictly ordered per conversation (within this process, or across workers
with a Redis lock store), concurrent across conversations, NLU micro-batched on the model thread,
rate limited per sender, and measured."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from agent.channels.base import BotMessage, RateLimited
from agent.core.events import ActionExecuted, UserUttered
from agent.core.handoff import mirror_events
from agent.core.processor import TurnResult, UserMessage
from agent.metrics import FALLBACKS, FAQ_HITS, INTENTS, LATENCY, MESSAGES, RATE_LIMITED
from agent.nlu.interpreter import NLU_FALLBACK
from agent.server.batching import MicroBatcher
from agent.server.handoff_hub import HandoffHub
from agent.stores.locks import ConversationLocks, LockStore


@dataclass
class RateLimit:
    """A token bucket per sender: `burst` messages at once, refilled at `per_second`."""

    per_second: float = 5.0
    burst: int = 20

    def __post_init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, sender_id: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(sender_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens < 1.0:
            self._buckets[sender_id] = (tokens, now)
            raise RateLimited((1.0 - tokens) / self.per_second)
        self._buckets[sender_id] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:  # forget senders whose bucket is full again
            full = [s for s, (t, at) in self._buckets.items() if t + (now - at) * self.per_second >= self.burst]
            for s in full:
                del self._buckets[s]


class AgentRunner:
    def __init__(
        self,
        agent,
        rate_limit: RateLimit | None = None,
        max_batch: int = 32,
        live_faq=None,
        locks: LockStore | None = None,
    ):
        self.agent = agent
        self.live_faq = live_faq  # LiveFAQ: the served FAQ follows the edit log
        self.rate_limit = rate_limit
        self.locks: LockStore = locks if locks is not None else ConversationLocks()
        self.hub = HandoffHub(agent.processor.store.bus())  # handoff news for desks and customers' streams
        self.batcher = MicroBatcher(agent.interpreter.parse_batch, max_batch, agent.interpreter.shortcut)
        agent.processor.parse = self.batcher.parse
        self._idle = asyncio.Event()
        self._idle.set()
        self._in_flight = 0

    async def submit(self, message: UserMessage) -> list[BotMessage]:
        return (await self.turn(message)).messages

    async def turn(self, message: UserMessage) -> TurnResult:
        source = message.via or message.input_channel or "rest"
        if self.rate_limit is not None:
            try:
                self.rate_limit.take(message.sender_id)
            except RateLimited:
                RATE_LIMITED.labels(channel=source).inc()
                raise
        MESSAGES.labels(channel=source).inc()
        self._in_flight += 1
        self._idle.clear()
        try:
            async with self.locks.hold(message.sender_id):
                started = time.perf_counter()
                if message.message_id is None and message.metadata.get("message_id") is not None:
                    message = replace(message, message_id=str(message.metadata["message_id"]))
                result = await self.agent.processor.handle_message(message)
                LATENCY.labels(stage="turn").observe(time.perf_counter() - started)
                silent = result.handoff.get("status") in ("queued", "human")
                await self.hub.publish(message.sender_id, result.events, result.handoff, all_messages=silent)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
        _count(result)
        return result

    async def mirror_handoff(self, sender_id: str, with_person: bool, agent: str | None = None, by: str = "") -> dict:
        """A platform's desk (Chatwoot, WeChat customer service, WeCom) says who has the conversation:
        record what changed, under the conversation's lock, and tell the hub."""
        processor = self.agent.processor
        async with self.locks.hold(sender_id):
            tracker = await processor.store.get_or_create(sender_id, processor.domain)
            settings = processor.handoff
            events = mirror_events(tracker.state.handoff, with_person, agent, by, settings.queue, by or "platform")
            if events:
                tracker.extend(events)
                await processor.store.save(tracker, events)
                await self.hub.publish(sender_id, events, tracker.state.handoff.as_dict(), all_messages=True)
            return tracker.state.handoff.as_dict()

    async def parse(self, text: str, previous_language: str | None = None) -> dict:
        return await self.batcher.parse(text, previous_language)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for in-flight turns (graceful shutdown)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        await self.drain()
        await self.hub.close()
        self.batcher.close()
        await self.locks.close()
        await self.agent.processor.store.close()


def _count(result: TurnResult) -> None:
    for event in result.events:
        if isinstance(event, UserUttered):
            intent = event.intent_name or "none"
            INTENTS.labels(intent=intent).inc()
            if intent == NLU_FALLBACK:
                FALLBACKS.labels(kind="nlu").inc()
            if event.parse_data.get("response_selector", {}).get(intent):
                FAQ_HITS.inc()
        elif isinstance(event, ActionExecuted) and event.name == "action_default_fallback":
            FALLBACKS.labels(kind="core").inc()
