"""What training reports, while it runs (Reporter, per-epoch metrics) and when it ends (TrainingResult).
Its own module so the CLI and calibration can name these types without pulling in the loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agent.bot.nlu_data import Example
from agent.errors import Problem
from agent.nlu.intent_model import IntentClassifier
from agent.nlu.thresholds import Thresholds


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_accuracy: float | None
    val_loss: float | None
    seconds: float


@dataclass
class TrainingResult:
    classifier: IntentClassifier
    history: list[EpochMetrics] = field(default_factory=list)
    best_epoch: int = 0
    val_accuracy: float | None = None
    train_size: int = 0
    val_size: int = 0
    seconds: float = 0.0
    base_model: str = ""
    initial_val_accuracy: float | None = None  # head fitted on frozen features, before fine-tuning
    entity_problems: list[Problem] = field(default_factory=list)  # annotations the tagger cannot learn
    problems: list[Problem] = field(default_factory=list)  # other warnings about the training run
    val_examples: list[Example] = field(default_factory=list)  # held out: calibration and thresholds
    calibration: dict = field(default_factory=dict)  # temperature and expected calibration error
    thresholds: Thresholds | None = None  # fallback thresholds swept on the validation slice
    negatives: dict | None = None  # the shipped/generated out-of-scope negatives used (NegativesReport)

    def summary(self) -> dict:
        return {
            "best_epoch": self.best_epoch,
            "initial_val_accuracy": self.initial_val_accuracy,
            "val_accuracy": self.val_accuracy,
            "train_size": self.train_size,
            "val_size": self.val_size,
            "seconds": round(self.seconds, 2),
            "base_model": self.base_model,
            "history": [vars(h) for h in self.history],
            "calibration": self.calibration,
            "negatives": self.negatives,
            "thresholds": {k: v for k, v in self.thresholds.to_dict().items() if k != "curve"}
            if self.thresholds
            else None,
        }


class Reporter(Protocol):
    def start(self, total_steps: int, epochs: int) -> None: ...
    def step(self, loss: float) -> None: ...
    def epoch_end(self, metrics: EpochMetrics) -> None: ...
    def finish(self) -> None: ...


class SilentReporter:
    def start(self, total_steps: int, epochs: int) -> None:
        pass

    def step(self, loss: float) -> None:
        pass

    def epoch_end(self, metrics: EpochMetrics) -> None:
        pass

    def finish(self) -> None:
        pass
