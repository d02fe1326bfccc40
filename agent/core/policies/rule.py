"""Rules: short conversation snippets that must always be followed, active forms, default rules.

A rule compiles to a pattern of items (user intents, actions, active-loop changes). Slot steps and
the rule's `condition` constrain the dialogue state where they stand. A rule predicts the action
that follows the longest prefix matching the end of the conversation; after its last step it
predicts action_listen (unless `wait_for_user_input: false`). An active form takes precedence, as
in Rasa; when the form rejects a message, rules answer it and the form then resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from agent.bot.domain import Domain
from agent.bot.stories import ANY_VALUE, ActionStep, ActiveLoopStep, SlotStep, UserStep
from agent.core.policies.base import Policy, PolicyPrediction
from agent.core.tracker import ACTION_LISTEN, Tracker
from agent.core.training_data import StoryPath, TrainingData
from agent.core.turns import NULL_LOOP, Item, StateView

RESUME_CONFIDENCE = 0.5  # resuming a form after a digression yields to stories that say otherwise


@dataclass
class CompiledRule:
    name: str
    items: list[Item]
    slot_checks: list[dict[str, Any]] = field(default_factory=list)  # per item, and one past the end
    conditions: dict[str, Any] = field(default_factory=dict)  # slot -> value (ANY_VALUE: not null)
    active_loop: str | None | bool = False  # False: no condition; None: no loop may be active
    conversation_start: bool = False
    wait_for_user_input: bool = True

    def __post_init__(self) -> None:
        if not self.slot_checks:
            self.slot_checks = [{} for _ in range(len(self.items) + 1)]

    @cached_property
    def uses_loops(self) -> bool:
        return any(kind == "loop" for kind, _ in self.items)

    @cached_property
    def specificity(self) -> tuple[int, int]:
        """More checks win; checks on the current state (slot steps) beat conditions on the rule's start."""
        return sum(len(c) for c in self.slot_checks), len(self.conditions) + (self.active_loop is not False)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "items": [list(i) for i in self.items],
            "slot_checks": self.slot_checks,
            "conditions": self.conditions,
            "active_loop": self.active_loop,
            "conversation_start": self.conversation_start,
            "wait_for_user_input": self.wait_for_user_input,
        }

    @classmethod
    def from_dict(cls, d: dict) -> CompiledRule:
        return cls(
            d["name"],
            [tuple(i) for i in d["items"]],
            d.get("slot_checks", []),
            d.get("conditions", {}),
            d.get("active_loop", False),
            d.get("conversation_start", False),
            d.get("wait_for_user_input", True),
        )


DEFAULT_RULES = [
    CompiledRule("default: restart", [("action", ACTION_LISTEN), ("intent", "restart"), ("action", "action_restart")]),
    CompiledRule(
        "default: session start",
        [("action", ACTION_LISTEN), ("intent", "session_start"), ("action", "action_session_start")],
    ),
]


def compile_rule(path: StoryPath) -> CompiledRule:
    """A rule (one `or` alternative of it) as items; user turns get their implicit action_listen."""
    items: list[Item] = []
    checks: list[dict[str, Any]] = [{}]

    def add(item: Item) -> None:
        if item[0] == "intent" and (not items or items[-1] != ("action", ACTION_LISTEN)):
            items.append(("action", ACTION_LISTEN))
            checks.append({})
        items.append(item)
        checks.append({})

    for step in path.steps:
        if isinstance(step, UserStep) and step.intent:
            add(("intent", step.intent))
        elif isinstance(step, ActionStep) and step.action:
            add(("action", step.action))
        elif isinstance(step, ActiveLoopStep):
            add(("loop", step.name or NULL_LOOP))
        elif isinstance(step, SlotStep):
            checks[-1].update(step.slots)
    block = path.block
    conditions: dict[str, Any] = {}
    active_loop: str | None | bool = False
    for cond in block.condition if block else []:
        if isinstance(cond, SlotStep):
            conditions.update(cond.slots)
        elif isinstance(cond, ActiveLoopStep):
            active_loop = cond.name
    return CompiledRule(
        path.name,
        items,
        checks,
        conditions,
        active_loop,
        bool(block and block.conversation_start),
        not block or block.wait_for_user_input,
    )


def _value_matches(expected: Any, actual: Any) -> bool:
    if expected == ANY_VALUE:
        return actual is not None
    return actual == expected or (actual is not None and str(actual).lower() == str(expected).lower())


def _slots_match(checks: dict[str, Any], state: StateView) -> bool:
    return all(_value_matches(v, state.slots.get(k)) for k, v in checks.items())


class RulePolicy(Policy):
    name = "RulePolicy"
    priority = 6

    def __init__(self, rules: list[CompiledRule] | None = None):
        self.rules = rules or []
        self._tail = self._tail_length()

    def _tail_length(self) -> int:
        """How far back any rule can look (loop items may sit between a rule's steps: room for them)."""
        longest = max((len(r.items) for r in [*self.rules, *DEFAULT_RULES]), default=0)
        return 2 * longest + 2

    def train(self, data: TrainingData) -> None:
        self.rules = [compile_rule(path) for path in data.rules]
        self.train_tail()

    def train_tail(self) -> None:
        """Call after adding rules by hand."""
        self._tail = self._tail_length()

    def to_dict(self) -> dict:
        return {"rules": [r.to_dict() for r in self.rules]}

    @classmethod
    def from_dict(cls, data: dict) -> RulePolicy:
        return cls([CompiledRule.from_dict(r) for r in data.get("rules", [])])

    def predict(
        self, tracker: Tracker, domain: Domain, excluded: frozenset[str] = frozenset()
    ) -> PolicyPrediction | None:
        state = tracker.state
        loop = state.active_loop
        if loop and not state.loop_rejected and loop not in excluded:  # Rasa's loop happy path comes before any rule
            return PolicyPrediction(ACTION_LISTEN if state.latest_action == loop else loop, 1.0, self.name)
        found = self._predict_from_rules(tracker, excluded)
        if loop and state.latest_action not in (ACTION_LISTEN, loop):
            # The form rejected the message and something answered it. Rules written for this form
            # (or stories, which outrank a guess) say what happens next; otherwise the form resumes.
            if found and (found[0] != ACTION_LISTEN or found[1]):
                return PolicyPrediction(found[0], 1.0, self.name)
            return PolicyPrediction(loop, 1.0 if found else RESUME_CONFIDENCE, self.name)
        return PolicyPrediction(found[0], 1.0, self.name) if found else None

    def _predict_from_rules(self, tracker: Tracker, excluded: frozenset[str]) -> tuple[str, bool] | None:
        """The action of the most specific matching rule, and whether that rule is about a loop."""
        turns = tracker.state.turns
        items, states = turns.tail(self._tail)
        whole = turns.count <= self._tail  # conversation_start rules need the whole conversation
        # the current state comes from the tracker: initial values and carried-over slots count too
        now = StateView(tracker.slots, tracker.active_loop)
        kept = [i for i, it in enumerate(items) if it[0] != "loop"]  # for rules that never mention loops
        loopless = [items[i] for i in kept], [states[i] for i in kept]
        best: tuple[tuple, str, bool] | None = None
        for rule in [*self.rules, *DEFAULT_RULES]:
            if rule.conversation_start and not whole:
                continue
            h_items, h_states = (items, states) if rule.uses_loops else loopless
            specificity = rule.specificity
            about_loop = rule.uses_loops or bool(rule.active_loop)
            for k, item in enumerate(rule.items):
                if item[0] != "action" or item[1] == ACTION_LISTEN:
                    continue
                if k == 0 or item[1] in excluded:
                    continue  # a rule's leading action is where it applies (e.g. after a form), not a prediction
                if self._matches(rule, k, h_items, h_states, now):
                    key = (k, specificity)
                    if best is None or key > best[0]:
                        best = (key, item[1], about_loop)
            end = len(rule.items)
            if rule.wait_for_user_input and self._matches(rule, end, h_items, h_states, now):
                key = (end, specificity)
                if best is None or key > best[0]:
                    best = (key, ACTION_LISTEN, about_loop)
        return (best[1], best[2]) if best else None

    @staticmethod
    def _matches(rule: CompiledRule, k: int, items: list[Item], states: list[StateView], now: StateView) -> bool:
        """Do the rule's first k items end the conversation, with its slot checks and conditions holding?"""
        prefix = rule.items[:k]
        if k > len(items):
            return False
        offset = len(items) - k
        if rule.conversation_start:
            body = items[1:] if items[:1] == [("action", ACTION_LISTEN)] and prefix[:1] != items[:1] else items
            if len(body) != k:
                return False
            offset = len(items) - len(body)
        if items[offset:] != prefix:
            return False
        for i in range(k):
            if rule.slot_checks[i] and not _slots_match(rule.slot_checks[i], states[offset + i]):
                return False
        if rule.slot_checks[k] and not _slots_match(rule.slot_checks[k], now):
            return False
        # conditions hold where the rule starts: the state once its first step has happened
        start = states[offset + 1] if k >= 2 else now
        if not _slots_match(rule.conditions, start):
            return False
        return rule.active_loop is False or start.active_loop == rule.active_loop
