"""The conversation as the policies see it: a list of turn items, each with the state before it.

Items are ("intent", name), ("action", name) and ("loop", form or "null"). The tracker extends this
list as events arrive, so a policy reads the last few items in constant time however long the
conversation has grown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Item = tuple[str, str]
NULL_LOOP = "null"
LISTEN = ("action", "action_listen")


@dataclass(frozen=True)
class StateView:
    """Slots and active loop as they were before an item happened (slot dicts are never mutated)."""

    slots: dict[str, Any]
    active_loop: str | None


@dataclass
class Turns:
    items: list[Item]
    states: list[StateView]
    entities: list[frozenset[str]]  # entity names of each user turn (empty for other items)
    dropped: int = 0  # items trimmed from the front: a long conversation keeps only its recent turns

    @property
    def count(self) -> int:
        """Items since the conversation (or session) began, including trimmed ones."""
        return self.dropped + len(self.items)

    def tail(self, n: int) -> tuple[list[Item], list[StateView]]:
        return self.items[-n:], self.states[-n:]

    def _push(self, item: Item, view: StateView, entities: frozenset[str] = frozenset()) -> None:
        self.items.append(item)
        self.states.append(view)
        self.entities.append(entities)

    def add_user(self, intent: str | None, entities: frozenset[str], view: StateView) -> None:
        if not self.items or self.items[-1] != LISTEN:
            self._push(LISTEN, view)
        self._push(("intent", intent or ""), view, entities)

    def add_action(self, name: str, view: StateView) -> None:
        if name != "action_session_start":
            self._push(("action", name), view)

    def add_loop(self, name: str | None, view: StateView) -> None:
        item = ("loop", name or NULL_LOOP)
        if self.items and self.items[-1][0] == "loop":
            # a form that starts and ends in one run: keep the outcome, seen from the running form
            self.items[-1], self.states[-1] = item, view
        else:
            self._push(item, view)

    def copy(self) -> Turns:
        return Turns(list(self.items), list(self.states), list(self.entities), self.dropped)

    def trim(self, keep: int) -> None:
        """Forget all but the last `keep` items; policies read far fewer than that."""
        extra = len(self.items) - keep
        if extra > 0:
            del self.items[:extra], self.states[:extra], self.entities[:extra]
            self.dropped += extra
