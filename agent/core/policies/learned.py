"""A learned dialogue policy (our TEDPolicy): generalises to turn sequences no story contains.

Each prediction point is described by its last `max_history` states; a state is the previous
action, the user's intent and entities (right after a user message), the slots that influence
the conversation, and the active loop (Rasa's state features). A small MLP maps the stacked states
to the next action. Stories are glued together at random (Rasa's augmentation) so the policy
learns that a new topic can start after any finished one.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agent.bot.domain import Domain
from agent.bot.stories import ActiveLoopStep, SlotStep, UserStep
from agent.core.policies.base import POLICY_FILE, Policy, PolicyPrediction
from agent.core.tracker import ACTION_LISTEN, Tracker
from agent.core.training_data import ReplayedStory, StoryPath, TrainingData, action_points, replay_steps
from agent.core.turns import StateView, Turns

MAX_AUGMENTED = 500  # glued story pairs for training, at most
WEIGHTS_FILE = "weights.safetensors"


@dataclass
class State:
    prev_action: str | None
    intent: str | None
    entities: frozenset[str]
    slots: dict[str, Any]
    loop: str | None


@dataclass
class Featurizer:
    actions: list[str]
    intents: list[str]
    entities: list[str]
    slots: list[dict]  # {"name", "type", "values"}
    forms: list[str]
    max_history: int

    @classmethod
    def for_domain(cls, domain: Domain, max_history: int) -> Featurizer:
        slots = [
            {"name": s.name, "type": s.type, "values": s.values}
            for s in domain.slots.values()
            if s.influence_conversation and s.type != "any"
        ]
        return cls(
            domain.action_names,
            sorted(domain.intents),
            sorted(domain.entities),
            slots,
            sorted(domain.forms),
            max_history,
        )

    def __post_init__(self) -> None:
        """Index maps and offsets, so a state vector is a few dictionary lookups (it runs on every
        prediction of a live server)."""
        self._offsets = {}
        o = 0
        for part, names in (("action", self.actions), ("intent", self.intents), ("entity", self.entities)):
            self._offsets[part] = (o, {n: i for i, n in enumerate(names)})
            o += len(names)
        self._offsets["loop"] = (o, {n: i + 1 for i, n in enumerate(self.forms)})
        o += len(self.forms) + 1
        self._slot_offsets = []
        for spec in self.slots:
            self._slot_offsets.append((o, spec))
            o += _slot_width(spec)
        self._size = o

    @property
    def state_size(self) -> int:
        return self._size

    def state_vector(self, state: State | None) -> np.ndarray:
        v = np.zeros(self._size, dtype=np.float32)
        if state is None:
            return v
        for part, value in (("action", state.prev_action), ("intent", state.intent)):
            o, index = self._offsets[part]
            if value in index:
                v[o + index[value]] = 1
        o, index = self._offsets["entity"]
        for e in state.entities:
            if e in index:
                v[o + index[e]] = 1
        o, index = self._offsets["loop"]
        v[o + index.get(state.loop, 0)] = 1
        for o, spec in self._slot_offsets:
            _slot_features(spec, state.slots.get(spec["name"]), v[o : o + _slot_width(spec)])
        return v

    def window(self, states: list[State]) -> torch.Tensor:
        recent: list[State | None] = list(states[-self.max_history :])
        recent = [None] * (self.max_history - len(recent)) + recent
        return torch.from_numpy(np.concatenate([self.state_vector(s) for s in recent]))

    def to_dict(self) -> dict:
        return {
            "actions": self.actions,
            "intents": self.intents,
            "entities": self.entities,
            "slots": self.slots,
            "forms": self.forms,
            "max_history": self.max_history,
        }


def _slot_width(spec: dict) -> int:
    if spec["type"] == "categorical":
        return len(spec["values"]) + 1
    if spec["type"] == "bool":
        return 2
    return 1


def _slot_features(spec: dict, value: Any, out: np.ndarray) -> None:
    """Write a slot's features into `out` (a view of the state vector); nothing for an empty slot."""
    if value is None:
        return
    kind = spec["type"]
    if kind == "categorical":
        values = [v.lower() for v in spec["values"]]
        text = str(value).lower()
        out[values.index(text) if text in values else len(out) - 1] = 1
    elif kind == "bool":
        out[0] = 1
        out[1] = float(str(value).lower() in ("true", "1", "yes"))
    elif kind == "float":
        try:
            out[0] = float(value)
        except (TypeError, ValueError):
            out[0] = 1
    else:
        out[0] = 1


def turn_states(turns: Turns, end: int, now: StateView, window: int) -> list[State]:
    """The dialogue states before item `end` (the last of them: `now`), from at most the last
    `window` items. Training and prediction both read this, so they cannot disagree."""
    start = max(0, end - window)
    states: list[State] = []
    prev: str | None = ACTION_LISTEN
    user: tuple[str, frozenset[str]] | None = None
    for (kind, name), view, ents in zip(turns.items[start:end], turns.states[start:end], turns.entities[start:end]):
        if kind == "intent":
            user = (name.split("/")[0], ents)
        elif kind == "action":
            if name == ACTION_LISTEN and prev == ACTION_LISTEN:
                continue
            states.append(State(prev, *(user or (None, frozenset())), view.slots, view.active_loop))
            prev, user = name, None
    states.append(State(prev, *(user or (None, frozenset())), now.slots, now.active_loop))
    return states


def story_examples(story: ReplayedStory, window: int) -> list[tuple[list[State], str]]:
    """(states so far, next action) for every action of a replayed story."""
    turns = story.turns
    return [(turn_states(turns, k, turns.states[k], window), turns.items[k][1]) for k in action_points(story)]


def _forget_early_turns(x: torch.Tensor, history: int, size: int) -> torch.Tensor:
    """Hide a random number of the oldest turns from half the examples, so the policy also learns
    to decide from the last turns alone when the earlier ones are unlike any story."""
    windows = x.view(len(x), history, size).clone()
    keep = torch.randint(1, history + 1, (len(x),))
    forget = torch.rand(len(x)) < 0.5
    for row in torch.nonzero(forget).flatten().tolist():
        windows[row, : history - int(keep[row])] = 0
    return windows.view(len(x), -1)


class MLP(nn.Module):
    """Stacked turns through two hidden layers, plus a direct path from the latest turn, which
    carries most of the decision when the earlier turns are unfamiliar."""

    def __init__(self, inputs: int, outputs: int, hidden: int = 128, state_size: int | None = None):
        super().__init__()
        self.state_size = state_size or inputs
        self.net = nn.Sequential(
            nn.Linear(inputs, hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, outputs),
        )
        self.latest = nn.Linear(self.state_size, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + self.latest(x[:, -self.state_size :])


@dataclass
class LearnedPolicy(Policy):
    max_history: int = 5
    epochs: int = 60
    augmentation_factor: int = 20
    seed: int = 42
    featurizer: Featurizer | None = None
    model: MLP | None = None
    name: str = field(default="TEDPolicy", init=False)
    priority: int = field(default=1, init=False)

    def train(self, data: TrainingData) -> None:
        rng = random.Random(self.seed)
        torch.manual_seed(self.seed)
        domain = data.domain
        self.featurizer = Featurizer.for_domain(domain, self.max_history)
        paths = [s.path for s in data.stories]
        # a continuation may start at any user turn of a story that starts a conversation and whose
        # earlier steps set no slot or loop (those would be missing context), so topics follow each
        # other freely
        tails = [
            p.steps[i:]
            for p in paths
            if p.from_start
            for i, step in enumerate(p.steps)
            if isinstance(step, UserStep) and not any(isinstance(s, (SlotStep, ActiveLoopStep)) for s in p.steps[:i])
        ]
        glued = (
            [
                replay_steps(StoryPath("story", "augmented", rng.choice(paths).steps + rng.choice(tails)), domain)
                for _ in range(min(self.augmentation_factor * len(paths), MAX_AUGMENTED))
            ]
            if tails
            else []
        )
        window = self._turn_window
        examples = [ex for story in [*data.stories, *glued] for ex in story_examples(story, window)]
        examples = [(s, a) for s, a in examples if a in self.featurizer.actions]
        if not examples:
            self.model = None
            return
        unique = {}
        for states, action in examples:  # identical windows add nothing but time
            window = self.featurizer.window(states)
            unique[(window.numpy().tobytes(), action)] = (window, action)
        x = torch.stack([w for w, _ in unique.values()])
        y = torch.tensor([self.featurizer.actions.index(a) for _, a in unique.values()])
        self.model = MLP(x.shape[1], len(self.featurizer.actions), state_size=self.featurizer.state_size)
        opt = torch.optim.Adam(self.model.parameters(), lr=2e-3, weight_decay=1e-5)
        self.model.train()
        h, size = self.max_history, self.featurizer.state_size
        for _ in range(self.epochs):
            order = torch.randperm(len(x))
            for i in range(0, len(x), 32):
                idx = order[i : i + 32]
                loss = nn.functional.cross_entropy(self.model(_forget_early_turns(x[idx], h, size)), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.model.eval()

    @property
    def _turn_window(self) -> int:
        """Items to read back: enough for `max_history` states with their listens, intents and loops."""
        return 4 * self.max_history + 4

    def tracker_states(self, tracker: Tracker) -> list[State]:
        turns = tracker.state.turns
        return turn_states(turns, len(turns.items), StateView(tracker.slots, tracker.active_loop), self._turn_window)

    @torch.no_grad()
    def predict(
        self, tracker: Tracker, domain: Domain, excluded: frozenset[str] = frozenset()
    ) -> PolicyPrediction | None:
        if self.model is None or self.featurizer is None:
            return None
        x = self.featurizer.window(self.tracker_states(tracker)).unsqueeze(0)
        probs = torch.softmax(self.model(x)[0], dim=-1)
        for name in excluded:
            if name in self.featurizer.actions:
                probs[self.featurizer.actions.index(name)] = 0
        best = int(torch.argmax(probs))
        return PolicyPrediction(self.featurizer.actions[best], float(probs[best]), self.name)

    def to_dict(self) -> dict:
        return {"max_history": self.max_history, "featurizer": self.featurizer.to_dict() if self.featurizer else None}

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        super().save(folder)
        if self.model is not None:
            save_file({k: v.contiguous() for k, v in self.model.state_dict().items()}, str(folder / WEIGHTS_FILE))

    @classmethod
    def load(cls, folder: Path) -> LearnedPolicy | None:
        """None when the policy learned nothing (no stories): it would only add noise."""
        from safetensors.torch import load_file

        meta = json.loads((folder / POLICY_FILE).read_text(encoding="utf-8"))
        if not meta.get("featurizer") or not (folder / WEIGHTS_FILE).exists():
            return None
        policy = cls(max_history=meta["max_history"])
        policy.featurizer = Featurizer(**meta["featurizer"])
        state = load_file(str(folder / WEIGHTS_FILE))
        policy.model = MLP(
            state["net.0.weight"].shape[1],
            state["net.5.weight"].shape[0],
            state["net.0.weight"].shape[0],
            state["latest.weight"].shape[1],
        )
        policy.model.load_state_dict(state)
        policy.model.eval()
        return policy
