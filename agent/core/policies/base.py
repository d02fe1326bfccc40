"""The policy interface: given the tracker, propose the next action with a confidence."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.bot.domain import Domain
from agent.core.tracker import Tracker
from agent.core.training_data import TrainingData


@dataclass
class PolicyPrediction:
    action: str
    confidence: float
    policy: str


POLICY_FILE = "policy.json"


class Policy(ABC):
    name: str = ""
    priority: int = 0  # breaks confidence ties: rule 6 > memoization 3 > learned 1 (Rasa's order)

    @abstractmethod
    def train(self, data: TrainingData) -> None: ...

    @abstractmethod
    def predict(
        self, tracker: Tracker, domain: Domain, excluded: frozenset[str] = frozenset()
    ) -> PolicyPrediction | None:
        """`excluded`: actions that rejected this turn and must not be proposed again."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        raise NotImplementedError(f"{cls.__name__} loads with load()")

    def save(self, folder: Path) -> None:
        """Write the policy into its own folder of the model."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / POLICY_FILE).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Policy | None:
        """The policy saved in `folder`; None when it learned nothing worth predicting with."""
        return cls.from_dict(json.loads((folder / POLICY_FILE).read_text(encoding="utf-8")))
