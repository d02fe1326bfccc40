"""Memoization: replay the training stories exactly, looking back `max_history` turns.

A turn is an intent (with the entities the message had) or an action, tagged with the form active at
that moment, and the key ends with the slots that influence the conversation as they are when the
next action is chosen, as Rasa's MemoizationPolicy featurises its states: stories that differ only
by a slot value are remembered apart.
"""

from __future__ import annotations

from typing import Any

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
    loop (intents also with their entities), and whether that is the whole conversation. Training
    and prediction both read this."""
    end = len(turns.items) if end is None else end
    start = max(0, end - 2 * window - 2)
    rows = zip(turns.items[start:end], turns.states[start:end], turns.entities[start:end])
    tagged = [
        (kind, _tag(name + _entities(entities), state.active_loop))
        for (kind, name), state, entities in rows
        if kind != "loop"
    ]
    complete = turns.dropped == 0 and start == 0
    return tagged[-window:], complete and len(tagged) <= window


def _entities(names: frozenset[str]) -> str:
    return "{" + ",".join(sorted(names)) + "}" if names else ""


def influential_slots(domain: Domain) -> dict[str, dict]:
    """The slots Rasa featurises for dialogue: influence_conversation, any type but `any`."""
    return {
        name: {"type": slot.type, "values": [str(v).lower() for v in slot.values]}
        for name, slot in sorted(domain.slots.items())
        if slot.influence_conversation and slot.type != "any"
    }


def slot_features(specs: dict[str, dict], slots: dict[str, Any]) -> str:
    """The filled influential slots as the memory sees them: bools and categories by value, the rest
    as set (a text slot's words do not change what a story does next)."""
    parts = []
    for name, spec in specs.items():
        value = slots.get(name)
        if value is None:
            continue
        if spec["type"] == "bool":
            parts.append(f"{name}={str(value).lower() in ('true', '1', 'yes')}")
        elif spec["type"] == "categorical":
            text = str(value).lower()
            parts.append(f"{name}={text if text in spec['values'] else '__other__'}")
        elif spec["type"] == "float":
            parts.append(f"{name}={value}")
        else:
            parts.append(f"{name}=set")
    return ",".join(parts)


class MemoizationPolicy(Policy):
    name = "MemoizationPolicy"
    priority = 3

    def __init__(
        self,
        max_history: int = 5,
        memory: dict | None = None,
        augmented: bool = False,
        slots: dict[str, dict] | None = None,
    ):
        self.max_history = max_history
        self.memory: dict[str, str] = memory or {}
        self.slots: dict[str, dict] = slots or {}  # the influential slots, as trained
        # AugmentedMemoizationPolicy: also match the end of the conversation as if it had started
        # later, so stories that begin mid-conversation (e.g. with an action) still apply.
        self.augmented = augmented

    @property
    def window(self) -> int:
        return 2 * self.max_history  # each turn is an action_listen + intent, or an action

    @staticmethod
    def key(items: list[Item], at_start: bool, slots: str) -> str:
        """`slots`: slot_features of the state the next action is chosen in."""
        return ("^" if at_start else "") + "|".join(f"{kind}:{name}" for kind, name in items) + "|slots:" + slots

    def train(self, data: TrainingData) -> None:
        self.memory = {}
        self.slots = influential_slots(data.domain)
        for story in data.stories:
            last = len(story.turns.items) - 1
            for k in action_points(story):
                if k == 0:
                    continue  # nothing before it to remember
                history, complete = history_items(story.turns, self.window, k)
                slots = slot_features(self.slots, story.turns.states[k].slots)
                key = self.key(history, complete and story.path.from_start, slots)
                target = story.turns.items[k][1]
                if k == last and story.final_listen:
                    self.memory.setdefault(key, target)  # a story's end is weaker than a story going on
                    continue
                if self.memory.get(key, target) != target:
                    target = AMBIGUOUS
                self.memory[key] = target

    def predict(
        self, tracker: Tracker, domain: Domain, excluded: frozenset[str] = frozenset()
    ) -> PolicyPrediction | None:
        history, from_start = history_items(tracker.state.turns, self.window)
        slots = slot_features(self.slots, tracker.slots)  # once: every candidate ends in the same state
        candidates = [self.key(history, from_start, slots)]
        if from_start:
            candidates.append(self.key(history, False, slots))
        if self.augmented:
            candidates += [
                self.key(history[-n:], True, slots) for n in range(min(len(history), self.window) - 1, 0, -1)
            ]
        for key in candidates:
            action = self.memory.get(key)
            if action and action != AMBIGUOUS and action not in excluded:
                return PolicyPrediction(action, 1.0, self.name)
        return None

    def to_dict(self) -> dict:
        return {
            "max_history": self.max_history,
            "memory": self.memory,
            "augmented": self.augmented,
            "slots": self.slots,
        }

    @classmethod
    def from_dict(cls, data: dict) -> MemoizationPolicy:
        return cls(
            data.get("max_history", 5), data.get("memory", {}), data.get("augmented", False), data.get("slots", {})
        )
