"""Choose the fallback and ambiguity thresholds by a sweep on validation data instead of by hand.

The rule: give up at most `max_in_scope_loss` of in-scope accuracy (a correct answer turned into a
fallback counts as lost) and, within that budget, catch as many out-of-scope messages as possible;
when the validation data has none, catch as many of the model's own mistakes as possible instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MIN_SWEEP_SAMPLE = 300  # in-scope validation messages from which the sweep decides alone ...
PRIOR = (0.3, 0.1)  # ... below it, its thresholds shrink towards Rasa's FallbackClassifier defaults
Z_95 = 1.96  # for the upper bound on the in-scope loss the training report states
OUT_OF_SCOPE = "out_of_scope"  # Rasa's conventional intent name for messages the bot does not handle
CONFIDENCE = "confidence"
CONFIDENCE_X_NEIGHBOURS = "confidence x neighbour similarity"


def in_scope_score(confidence: float, similarity: float | None) -> float:
    """Calibrated confidence times the similarity to the nearest training sentences: a message must
    look like one intent *and* like what the bot was trained on. On CLINC150 validation this catches
    more out-of-scope messages than either signal alone at the same in-scope cost."""
    if similarity is None:
        return confidence
    return confidence * max(0.0, similarity)


@dataclass
class Scored:
    """One validation message as the thresholds see it."""

    gold: str
    predicted: str
    score: float  # in-scope score: higher means more surely a message the bot handles
    gap: float  # top-1 minus top-2 confidence

    @property
    def is_oos(self) -> bool:
        return self.gold == OUT_OF_SCOPE


@dataclass
class CurvePoint:
    threshold: float
    in_scope_accuracy: float
    oos_recall: float | None
    fallback_rate: float


@dataclass
class Thresholds:
    fallback: float
    ambiguity: float
    source: str  # how they were chosen, for the training log and the model card
    in_scope_accuracy: float | None = None  # on validation, at these thresholds
    in_scope_accuracy_without: float | None = None  # on validation, with no fallback at all
    oos_recall: float | None = None
    curve: list[CurvePoint] = field(default_factory=list)
    signal: str = CONFIDENCE  # what the fallback threshold is compared with
    rule: str = "sweep"  # "sweep", "sweep shrunk to Rasa's defaults" (small validation) or "defaults"
    in_scope_loss_upper: float | None = None  # 95 % upper bound on the in-scope answers lost, from validation

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        curve = [CurvePoint(**p) for p in data.get("curve", [])]
        return cls(**{**data, "curve": curve})


def outcome(items: list[Scored], threshold: float, ambiguity: float) -> tuple[float, float | None, float, int]:
    """In-scope accuracy, OOS recall (None without OOS examples), fallback rate and errors caught."""
    in_scope = [s for s in items if not s.is_oos]
    oos = [s for s in items if s.is_oos]

    def falls_back(s: Scored) -> bool:
        return s.score < threshold or s.gap < ambiguity

    right = sum(1 for s in in_scope if s.predicted == s.gold and not falls_back(s))
    caught = sum(1 for s in in_scope if s.predicted != s.gold and falls_back(s))
    rejected = sum(1 for s in oos if falls_back(s) or s.predicted == OUT_OF_SCOPE)
    fallbacks = sum(1 for s in items if falls_back(s))
    return (
        right / len(in_scope) if in_scope else 0.0,
        rejected / len(oos) if oos else None,
        fallbacks / len(items) if items else 0.0,
        caught,
    )


def sweep(items: list[Scored], max_in_scope_loss: float = 0.01, max_candidates: int = 2000) -> Thresholds:
    """Every threshold between two observed scores, with each ambiguity gap; keep the pair that
    rejects most within the accuracy budget."""
    import numpy as np

    base_accuracy, base_recall, _, _ = outcome(items, -1.0, -1.0)
    floor = base_accuracy - max_in_scope_loss - 1e-9
    score = np.array([s.score for s in items])
    gap = np.array([s.gap for s in items])
    oos = np.array([s.is_oos for s in items])
    right = np.array([s.predicted == s.gold for s in items]) & ~oos
    wrong = ~right & ~oos
    oos_class = oos & np.array([s.predicted == OUT_OF_SCOPE for s in items])
    unique = np.unique(score)
    if len(unique) > max_candidates:
        unique = np.quantile(unique, np.linspace(0, 1, max_candidates))
    grid = np.concatenate([[0.0], (unique[:-1] + unique[1:]) / 2, [unique[-1] + 1e-6]]) if len(unique) else np.zeros(1)
    n_in, n_oos = max(1, int((~oos).sum())), max(1, int(oos.sum()))
    best, best_key = (0.0, 0.0), None
    for ambiguity in (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3):
        back = (score[None, :] < grid[:, None]) | (gap[None, :] < ambiguity)
        accuracy = (right[None, :] & ~back).sum(1) / n_in
        recall = (oos[None, :] & (back | oos_class[None, :])).sum(1) / n_oos
        caught = (wrong[None, :] & back).sum(1)
        for k in np.flatnonzero(accuracy >= floor):
            key = (float(recall[k]), int(caught[k]), float(accuracy[k]), -ambiguity)
            if best_key is None or key > best_key:
                best, best_key = (float(grid[k]), ambiguity), key
    n_scope = int((~oos).sum())
    rule = "sweep"
    if n_scope < MIN_SWEEP_SAMPLE:
        weight = n_scope / MIN_SWEEP_SAMPLE
        best = tuple(weight * chosen + (1 - weight) * prior for chosen, prior in zip(best, PRIOR))
        rule = f"sweep shrunk to Rasa's defaults {PRIOR[0]}/{PRIOR[1]} (weight {weight:.2f}: {n_scope} < {MIN_SWEEP_SAMPLE} in-scope validation messages)"
    accuracy, recall, _, _ = outcome(items, *best)
    lost = max(0, round((base_accuracy - accuracy) * n_scope))
    curve = []
    for threshold in np.linspace(0, 1, 51):
        acc, rec, rate, _ = outcome(items, float(threshold), best[1])
        curve.append(CurvePoint(round(float(threshold), 3), acc, rec, rate))
    return Thresholds(
        round(best[0], 6),
        best[1],
        f"swept on {len(items)} validation messages (at most {max_in_scope_loss:.0%} in-scope accuracy given up)",
        accuracy,
        base_accuracy,
        recall if base_recall is not None else None,
        curve,
        rule=rule,
        in_scope_loss_upper=round(wilson_upper(lost, n_scope), 4) if n_scope else None,
    )


def wilson_upper(failures: int, n: int, z: float = Z_95) -> float:
    """Upper end of the Wilson score interval for a rate of failures / n: what a small validation
    slice can promise about the in-scope answers a threshold will lose."""
    if n == 0:
        return 1.0
    p = failures / n
    centre = p + z * z / (2 * n)
    spread = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5)
    return min(1.0, (centre + spread) / (1 + z * z / n))
