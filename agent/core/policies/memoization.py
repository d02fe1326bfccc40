"""Memoization: replay the training stories exactly, looking back `max_history` turns.

A turn is an intent or an action, tagged with the form active at that moment (as Rasa's states
carry `active_loop`). Slots and entities are not part of the key yet.
"""
from __future__ import annotations

from agent.bot.domain import Domain
from agent.core.policies.base import Policy, PolicyPrediction
from agent.core.tracker import Tracker
from agent.core.training_data import TrainingData, action_points
from agent.core.turns import Item, Turns

AMBIGUOUS = "__ambiguous__"


def _tag(name: str, loop: str | None) -> str:
    return f"{name}@{loop}" if loop else name


def history_items(turns: Turns, window: int, end: int | None = None) -> tuple[list[Item], bool]:
    """The last `window` non-loop items before position `end` (default: all), tagged with the active
    loop, and whether that is the whole conversation. Training and prediction both read this."""
    end = len(turns.items) if end is None else end
    start = max(0, end - 2 * window - 2)
    items, states = turns.items[start:end], turns.states[start:end]
    tagged = [(kind, _tag(name, state.active_loop)) for (kind, name), state in zip(items, states) if kind != "loop"]
    complete = turns.dropped == 0 and start == 0
    return tagged[-window:], complete and len(tagged) <= window


class MemoizationPolicy(Policy):
    name = "MemoizationPolicy"
    priority = 3

    def __init__(self, max_history: int = 5, memory: dict | None = None, augmented: bool = False):
        self.max_history = max_history
        self.memory: dict[str, str] = memory or {}
        # AugmentedMemoizationPolicy: also match the end of the conversation as if it had started
        # later, so stories that begin mid-conversation (e.g. with an action) still apply.
        self.augmented = augmented

    @property
    def window(self) -> int:
        return 2 * self.max_history  # each turn is an action_listen + intent, or an action

    @staticmethod
    def _key(items: list[Item], at_start: bool) -> str:
        return ("^" if at_start else "") + "|".join(f"{kind}:{name}" for kind, name in items)

    def train(self, data: TrainingData) -> None:
        self.memory = {}
        for story in data.stories:
            last = len(story.turns.items) - 1
            for k in action_points(story):
                if k == 0:
                    continue  # nothing before it to remember
                history, complete = history_items(story.turns, self.window, k)
                key = self._key(history, complete and story.path.from_start)
                target = story.turns.items[k][1]
                if k == last and story.final_listen:
                    self.memory.setdefault(key, target)  # a story's end is weaker than a story going on
                    continue
                if self.memory.get(key, target) != target:
                    target = AMBIGUOUS
                self.memory[key] = target

    def predict(self, tracker: Tracker, domain: Domain,
                excluded: frozenset[str] = frozenset()) -> PolicyPrediction | None:
        history, from_start = history_items(tracker.state.turns, self.window)
        candidates = [self._key(history, from_start)]
        if from_start:
            candidates.append(self._key(history, False))
        if self.augmented:
            candidates += [self._key(history[-n:], True) for n in range(min(len(history), self.window) - 1, 0, -1)]
        for key in candidates:
            action = self.memory.get(key)
            if action and action != AMBIGUOUS and action not in excluded:
                return PolicyPrediction(action, 1.0, self.name)
        return None

    def to_dict(self) -> dict:
        return {"max_history": self.max_history, "memory": self.memory, "augmented": self.augmented}

    @classmethod
    def from_dict(cls, data: dict) -> "MemoizationPolicy":
        return cls(data.get("max_history", 5), data.get("memory", {}), data.get("augmented", False))
