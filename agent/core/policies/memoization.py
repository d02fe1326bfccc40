"""Memoization: replay the training stories exactly, looking back `max_history` turns.

A turn is an intent or an action, tagged with the form active at that moment (as Rasa's states
carry `active_loop`). Slots and entities are not part of the key yet.
"""
from __future__ import annotations

from agent.bot.domain import Domain
from agent.bot.stories import ActionStep, ActiveLoopStep, CheckpointStep, OrStep, StoryBlock, UserStep
from agent.core.policies.base import Policy, PolicyPrediction, TrainingStories
from agent.core.turns import Item
from agent.core.tracker import ACTION_LISTEN, Tracker

AMBIGUOUS = "__ambiguous__"


def _tag(name: str, loop: str | None) -> str:
    return f"{name}@{loop}" if loop else name


def story_sequences(block: StoryBlock) -> list[tuple[list[Item], bool]]:
    """Item sequences of a story (one per `or` alternative) and whether it starts a conversation."""
    from_start = not (block.steps and isinstance(block.steps[0], CheckpointStep))
    variants: list[list[Item]] = [[]]
    loop: str | None = None
    for step in block.steps:
        if isinstance(step, UserStep) and step.intent:
            variants = [v + [("action", _tag(ACTION_LISTEN, loop)), ("intent", _tag(step.intent, loop))]
                        for v in variants]
        elif isinstance(step, OrStep):
            alts = [a.intent for a in step.alternatives if isinstance(a, UserStep) and a.intent]
            variants = [v + [("action", _tag(ACTION_LISTEN, loop)), ("intent", _tag(a, loop))]
                        for v in variants for a in alts] or variants
        elif isinstance(step, ActionStep) and step.action:
            variants = [v + [("action", _tag(step.action, loop))] for v in variants]
        elif isinstance(step, ActiveLoopStep):
            loop = step.name
    return [(v, from_start) for v in variants]


def history_items(tracker: Tracker, window: int) -> tuple[list[Item], bool]:
    """The last `window` non-loop items, tagged with the active loop, and whether that is all of them."""
    turns = tracker.state.turns
    items, states = turns.tail(2 * window + 2)
    tagged = [(kind, _tag(name, state.active_loop)) for (kind, name), state in zip(items, states) if kind != "loop"]
    complete = turns.count == len(items)
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

    def train(self, data: TrainingStories) -> None:
        self.memory = {}
        for block in data.stories:
            for items, from_start in story_sequences(block):
                for k, (kind, name) in enumerate(items):
                    if kind != "action" or k == 0:
                        continue
                    start = max(0, k - self.window)
                    key = self._key(items[start:k], from_start and start == 0)
                    target = name.split("@")[0]
                    if self.memory.get(key, target) != target:
                        target = AMBIGUOUS
                    self.memory[key] = target
                if items and items[-1][0] == "action" and not items[-1][1].startswith(ACTION_LISTEN):
                    k = len(items)
                    start = max(0, k - self.window)
                    self.memory.setdefault(self._key(items[start:k], from_start and start == 0), ACTION_LISTEN)

    def predict(self, tracker: Tracker, domain: Domain,
                excluded: frozenset[str] = frozenset()) -> PolicyPrediction | None:
        history, from_start = history_items(tracker, self.window)
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
