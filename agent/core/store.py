"""Where conversations live. In memory for the shell; durable stores implement the same interface."""
from __future__ import annotations

from abc import ABC, abstractmethod

from agent.bot.domain import Domain
from agent.core.events import Event
from agent.core.tracker import Tracker


class TrackerStore(ABC):
    @abstractmethod
    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        ...

    @abstractmethod
    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        """Persist the events appended during this turn (event-sourced: never rewrite history)."""

    async def close(self) -> None:
        """Release connections (server shutdown)."""

    async def get_or_create(self, sender_id: str, domain: Domain) -> Tracker:
        return await self.retrieve(sender_id, domain) or Tracker(sender_id, domain)


class InMemoryTrackerStore(TrackerStore):
    def __init__(self) -> None:
        self._trackers: dict[str, Tracker] = {}

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        return self._trackers.get(sender_id)

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        self._trackers[tracker.sender_id] = tracker
