"""Rules: short conversation snippets that must always be followed, plus Rasa's default rules."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.bot.domain import Domain
from agent.bot.stories import ANY_VALUE, ActionStep, ActiveLoopStep, OrStep, SlotStep, StoryBlock, UserStep
from agent.core.events import ActionExecuted, Event, UserUttered
from agent.core.policies.base import Policy, PolicyPrediction, TrainingStories
from agent.core.tracker import ACTION_LISTEN, Tracker

# A turn item: ("intent", name) or ("action", name). Slots and loops are checked as conditions.
Item = tuple[str, str]


@dataclass
class CompiledRule:
    name: str
    items: list[Item]
    conditions: dict[str, Any] = field(default_factory=dict)  # slot -> value (ANY_VALUE: any non-null)
    active_loop: str | None | bool = False  # False: no condition; None: no loop may be active
    conversation_start: bool = False
    wait_for_user_input: bool = True

    def to_dict(self) -> dict:
        return {"name": self.name, "items": [list(i) for i in self.items], "conditions": self.conditions,
                "active_loop": self.active_loop, "conversation_start": self.conversation_start,
                "wait_for_user_input": self.wait_for_user_input}

    @classmethod
    def from_dict(cls, d: dict) -> "CompiledRule":
        return cls(d["name"], [tuple(i) for i in d["items"]], d.get("conditions", {}), d.get("active_loop", False),
                   d.get("conversation_start", False), d.get("wait_for_user_input", True))


DEFAULT_RULES = [
    CompiledRule("default: restart", [("intent", "restart"), ("action", "action_restart")]),
    CompiledRule("default: session start", [("intent", "session_start"), ("action", "action_session_start")]),
]


def compile_rule(block: StoryBlock) -> list[CompiledRule]:
    """One compiled rule per alternative of its `or` steps."""
    variants: list[list[Item]] = [[]]
    for step in block.steps:
        if isinstance(step, UserStep) and step.intent:
            variants = [v + [("intent", step.intent)] for v in variants]
        elif isinstance(step, ActionStep) and step.action:
            variants = [v + [("action", step.action)] for v in variants]
        elif isinstance(step, OrStep):
            alts = [a.intent for a in step.alternatives if isinstance(a, UserStep) and a.intent]
            variants = [v + [("intent", a)] for v in variants for a in alts] or variants
    conditions: dict[str, Any] = {}
    active_loop: str | None | bool = False
    for cond in block.condition:
        if isinstance(cond, SlotStep):
            conditions.update(cond.slots)
        elif isinstance(cond, ActiveLoopStep):
            active_loop = cond.name
    return [CompiledRule(block.name, items, conditions, active_loop, block.conversation_start,
                         block.wait_for_user_input) for items in variants]


def turn_items(events: list[Event]) -> list[Item]:
    """The conversation as intents and actions since the session (re)started."""
    items: list[Item] = []
    for e in events:
        if isinstance(e, UserUttered):
            if not items or items[-1] != ("action", ACTION_LISTEN):
                items.append(("action", ACTION_LISTEN))
            items.append(("intent", e.intent_name or ""))
        elif isinstance(e, ActionExecuted) and e.name not in ("action_session_start",):
            items.append(("action", e.name))
    return items


def _expand(items: list[Item]) -> list[Item]:
    """Each user turn in a rule is implicitly preceded by action_listen."""
    out: list[Item] = []
    for item in items:
        if item[0] == "intent" and (not out or out[-1] != ("action", ACTION_LISTEN)):
            out.append(("action", ACTION_LISTEN))
        out.append(item)
    return out


class RulePolicy(Policy):
    name = "RulePolicy"
    priority = 6

    def __init__(self, rules: list[CompiledRule] | None = None):
        self.rules = rules or []

    def train(self, data: TrainingStories) -> None:
        self.rules = [r for block in data.rules for r in compile_rule(block)]

    def to_dict(self) -> dict:
        return {"rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, data: dict) -> "RulePolicy":
        return cls([CompiledRule.from_dict(r) for r in data.get("rules", [])])

    def predict(self, tracker: Tracker, domain: Domain) -> PolicyPrediction | None:
        history = turn_items(tracker.applied_events())
        best: tuple[tuple[int, int], str, str] | None = None
        for rule in [*self.rules, *DEFAULT_RULES]:
            if not self._conditions_hold(rule, tracker):
                continue
            expanded = _expand(rule.items)
            for k, item in enumerate(expanded):
                if item[0] != "action" or item[1] == ACTION_LISTEN:
                    continue
                prefix = expanded[:k]
                if self._matches(prefix, history, rule.conversation_start):
                    if not prefix and history and history[-1] == item:
                        continue  # an unconditional first action must not repeat itself forever
                    key = (len(prefix), len(rule.conditions) + (rule.active_loop is not False))
                    if best is None or key > best[0]:
                        best = (key, item[1], rule.name)
            if rule.wait_for_user_input and self._matches(expanded, history, rule.conversation_start):
                key = (len(expanded), len(rule.conditions) + (rule.active_loop is not False))
                if best is None or key > best[0]:
                    best = (key, ACTION_LISTEN, rule.name)
        if best is None:
            return None
        return PolicyPrediction(best[1], 1.0, self.name)

    @staticmethod
    def _matches(prefix: list[Item], history: list[Item], conversation_start: bool) -> bool:
        if len(prefix) > len(history):
            return False
        if conversation_start:
            body = history[1:] if history[:1] == [("action", ACTION_LISTEN)] and prefix[:1] != history[:1] else history
            return body == prefix
        return not prefix or history[-len(prefix):] == prefix

    @staticmethod
    def _conditions_hold(rule: CompiledRule, tracker: Tracker) -> bool:
        for slot, value in rule.conditions.items():
            actual = tracker.slots.get(slot)
            if value == ANY_VALUE:
                if actual is None:
                    return False
            elif actual != value and str(actual).lower() != str(value).lower():
                return False
        if rule.active_loop is not False and tracker.active_loop != rule.active_loop:
            return False
        return True
