"""The policy interface: given the tracker, propose the next action with a confidence."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from agent.bot.domain import Domain
from agent.core.tracker import Tracker
from agent.core.training_data import TrainingData


@dataclass
class PolicyPrediction:
    action: str
    confidence: float
    policy: str


class Policy(ABC):
    name: str = ""
    priority: int = 0  # breaks confidence ties: rule 6 > memoization 3 > learned 1 (Rasa's order)

    @abstractmethod
    def train(self, data: TrainingData) -> None:
        ...

    @abstractmethod
    def predict(self, tracker: Tracker, domain: Domain,
                excluded: frozenset[str] = frozenset()) -> PolicyPrediction | None:
        """`excluded`: actions that rejected this turn and must not be proposed again."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        ...
