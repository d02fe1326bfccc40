"""Choose when the FAQ answers a message instead of the intents.

Two numbers: `value`, the lowest FAQ score that may answer, and `margin`, how much the FAQ score
must exceed the message's similarity to the nearest intent example (same encoder, so the two are
comparable) when the classifier did name an intent. Positives are questions the bank should answer
(each stored question searched against the rest of the bank); negatives are messages it must not
answer (the bot's intent examples, each compared without itself). The pair maximises balanced
accuracy: the mean of the share of positives answered correctly and the share of negatives left alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_THRESHOLD = 0.6  # cosine on all-MiniLM-L6-v2 when there is nothing to sweep on
DEFAULT_MARGIN = 0.05
MARGINS = np.round(np.arange(-0.10, 0.205, 0.025), 3)


@dataclass(frozen=True)
class FAQThreshold:
    value: float
    chosen_by: str
    margin: float | None = DEFAULT_MARGIN  # None: no intents to compete with
    positives: int = 0
    negatives: int = 0
    answered_correctly: float | None = None  # share of positives at these settings
    rejected: float | None = None  # share of negatives

    def to_dict(self) -> dict:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, data: dict) -> FAQThreshold:
        return cls(**data)


def sweep_threshold(pos_scores, pos_correct, neg_scores, pos_gaps=None, neg_gaps=None) -> FAQThreshold:
    """`*_gaps`: FAQ score minus the similarity to the nearest intent example; without them only the
    threshold is swept (a bank with no intents beside it, as in the CLINC150-as-FAQ benchmark)."""
    pos_scores, pos_correct, neg_scores = (
        np.asarray(a, dtype=np.float64) for a in (pos_scores, pos_correct, neg_scores)
    )
    if not len(pos_scores) or not len(neg_scores):
        return FAQThreshold(
            DEFAULT_THRESHOLD,
            "default (nothing to sweep on)",
            DEFAULT_MARGIN if pos_gaps is not None else None,
            len(pos_scores),
            len(neg_scores),
        )
    with_gaps = pos_gaps is not None and neg_gaps is not None
    margins = MARGINS if with_gaps else [None]
    pos_gaps = np.asarray(pos_gaps if with_gaps else np.zeros(len(pos_scores)), dtype=np.float64)
    neg_gaps = np.asarray(neg_gaps if with_gaps else np.zeros(len(neg_scores)), dtype=np.float64)
    candidates = np.unique(np.round(np.concatenate([pos_scores, neg_scores]), 3))
    best = None
    for margin in margins:
        m = -np.inf if margin is None else margin
        pos_ok, neg_ok = pos_gaps >= m, neg_gaps >= m
        for t in candidates:
            taken = (pos_scores >= t) & pos_ok
            answered = float((taken & (pos_correct > 0)).mean())
            rejected = float(1 - ((neg_scores >= t) & neg_ok).mean())
            # ties go to fewer wrong answers: a wrong answer is worse than a fallback
            key = (round((answered + rejected) / 2, 9), -float((taken & (pos_correct == 0)).mean()))
            if best is None or key > best[0]:
                best = (key, float(t), None if margin is None else float(margin), answered, rejected)
    _, t, margin, answered, rejected = best
    return FAQThreshold(
        round(t, 4),
        "balanced accuracy on validation",
        margin,
        len(pos_scores),
        len(neg_scores),
        round(answered, 4),
        round(rejected, 4),
    )
