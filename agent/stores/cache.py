"""Recently active conversations kept in process, so a turn does not reload what this process saved.

A durable store takes the tracker out for the turn and puts it back when the turn is saved: a turn
that fails before saving never returns it, so the next turn reloads what was really stored. Stores
shared by several workers keep `last` (the stored form of the tracker's last event) to prove that
what they read back later still extends this same conversation."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from agent.core.tracker import Tracker


@dataclass
class Cached:
    tracker: Tracker
    last: str


class TrackerCache:
    def __init__(self, size: int = 10_000):
        self.size = size
        self._entries: OrderedDict[str, Cached] = OrderedDict()

    def take(self, sender_id: str) -> Cached | None:
        return self._entries.pop(sender_id, None)

    def peek(self, sender_id: str) -> Cached | None:
        return self._entries.get(sender_id)

    def put(self, tracker: Tracker, last: str = "") -> None:
        self._entries[tracker.sender_id] = Cached(tracker, last)
        self._entries.move_to_end(tracker.sender_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
