"""Where conversations live. In memory for the shell; durable stores implement the same interface."""

from __future__ import annotations

from abc import ABC, abstractmethod

from agent.bot.domain import Domain
from agent.core.events import Event
from agent.core.tracker import Tracker
from agent.stores import snapshot
from agent.stores.bus import LocalBus


class TrackerConflict(Exception):
    """Another writer appended to this conversation since it was read: saving would interleave two turns."""

    def __init__(self, sender_id: str, first_seq: int, stored: int | None = None):
        self.sender_id = sender_id
        self.first_seq = first_seq
        found = f" (the store now holds {stored})" if stored is not None else ""
        super().__init__(
            f"conversation '{sender_id}': another writer saved to it after this turn read its "
            f"{first_seq} events{found}; this turn was not saved, reload the conversation and retry"
        )


class StoreUnavailable(Exception):
    """A tracker store's server cannot be used; the message is the driver's short reason, no traceback."""


def first_seq(tracker: Tracker, new_events: list[Event]) -> int:
    """The position of the turn's first new event in the conversation: the durable stores' append key."""
    return tracker.event_count - len(new_events)


def snapshot_for(tracker: Tracker) -> str | None:
    """The snapshot to write with this turn, when the conversation has grown enough since the last."""
    if not snapshot.due(tracker):
        return None
    tracker.compact()
    return snapshot.encode(tracker)


class TrackerStore(ABC):
    @abstractmethod
    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        """The conversation to take a turn on (durable stores: its snapshot and the events after it)."""

    async def peek(self, sender_id: str, domain: Domain) -> Tracker | None:
        """The conversation to read without taking a turn (the HTTP API)."""
        return await self.retrieve(sender_id, domain)

    @abstractmethod
    async def events(self, sender_id: str, stop: int | None = None) -> list[Event]:
        """The stored events of a conversation, from its start up to position `stop`."""

    def _bind(self, tracker: Tracker) -> Tracker:
        """Let the tracker read back the events it no longer holds (the HTTP API, full-history actions)."""
        sender_id = tracker.sender_id

        async def earlier(stop: int) -> list[Event]:
            return await self.events(sender_id, stop)

        tracker.earlier = earlier
        return tracker

    @abstractmethod
    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        """Persist the events appended during this turn (event-sourced: never rewrite history).

        Durable stores raise TrackerConflict when the stored conversation no longer ends where this
        tracker was read, rather than interleave two writers' turns."""

    async def close(self) -> None:  # noqa: B027 (a store without connections has nothing to release)
        """Release connections (server shutdown)."""

    async def get_or_create(self, sender_id: str, domain: Domain) -> Tracker:
        return await self.retrieve(sender_id, domain) or Tracker(sender_id, domain)

    def bus(self):
        """How workers sharing this store tell each other handoff news (agent.stores.bus)."""
        return LocalBus()


class InMemoryTrackerStore(TrackerStore):
    def __init__(self) -> None:
        self._trackers: dict[str, Tracker] = {}

    async def retrieve(self, sender_id: str, domain: Domain) -> Tracker | None:
        return self._trackers.get(sender_id)

    async def events(self, sender_id: str, stop: int | None = None) -> list[Event]:
        tracker = self._trackers.get(sender_id)
        return [] if tracker is None else tracker.events[:stop]

    async def save(self, tracker: Tracker, new_events: list[Event]) -> None:
        self._trackers[tracker.sender_id] = tracker

    async def sender_ids(self) -> list[str]:
        return sorted(self._trackers)
