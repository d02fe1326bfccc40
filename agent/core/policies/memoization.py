"""Memoization: replay the training stories exactly, looking back `max_history` turns.

This first version keys on intents and actions only; slots, entities and active loops join the
key with the full dialogue engine.
"""
from __future__ import annotations

from agent.bot.domain import Domain
from agent.bot.stories import ActionStep, CheckpointStep, OrStep, StoryBlock, UserStep
from agent.core.policies.base import Policy, PolicyPrediction, TrainingStories
from agent.core.policies.rule import Item, turn_items
from agent.core.tracker import ACTION_LISTEN, Tracker

AMBIGUOUS = "__ambiguous__"


def story_sequences(block: StoryBlock) -> list[tuple[list[Item], bool]]:
    """Item sequences of a story (one per `or` alternative) and whether it starts a conversation."""
    from_start = not (block.steps and isinstance(block.steps[0], CheckpointStep))
    variants: list[list[Item]] = [[]]
    for step in block.steps:
        if isinstance(step, UserStep) and step.intent:
            variants = [v + [("action", ACTION_LISTEN), ("intent", step.intent)] for v in variants]
        elif isinstance(step, OrStep):
            alts = [a.intent for a in step.alternatives if isinstance(a, UserStep) and a.intent]
            variants = [v + [("action", ACTION_LISTEN), ("intent", a)] for v in variants for a in alts] or variants
        elif isinstance(step, ActionStep) and step.action:
            variants = [v + [("action", step.action)] for v in variants]
    return [(v, from_start) for v in variants]


class MemoizationPolicy(Policy):
    name = "MemoizationPolicy"
    priority = 3

    def __init__(self, max_history: int = 5, memory: dict | None = None):
        self.max_history = max_history
        self.memory: dict[str, str] = memory or {}

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
                    target = name
                    if self.memory.get(key, target) != target:
                        target = AMBIGUOUS
                    self.memory[key] = target
                if items and items[-1][0] == "action" and items[-1][1] != ACTION_LISTEN:
                    k = len(items)
                    start = max(0, k - self.window)
                    self.memory.setdefault(self._key(items[start:k], from_start and start == 0), ACTION_LISTEN)

    def predict(self, tracker: Tracker, domain: Domain) -> PolicyPrediction | None:
        history = [i for i in turn_items(tracker.applied_events())[0] if i[0] != "loop"]
        candidates = [self._key(history[-self.window:], len(history) <= self.window)]
        if len(history) <= self.window:
            candidates.append(self._key(history, False))
        for key in candidates:
            action = self.memory.get(key)
            if action and action != AMBIGUOUS:
                return PolicyPrediction(action, 1.0, self.name)
        return None

    def to_dict(self) -> dict:
        return {"max_history": self.max_history, "memory": self.memory}

    @classmethod
    def from_dict(cls, data: dict) -> "MemoizationPolicy":
        return cls(data.get("max_history", 5), data.get("memory", {}))
