"""After training, make the classifier's confidences trustworthy on the held-out validation slice:
temperature scaling, the neighbours' vote and the character n-gram model where they help, and the
fallback thresholds swept on the resulting confidences. The primitives (temperature fitting, ECE)
live in agent.nlu.calibration; this module applies them to a trained classifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from agent.bot.config import IntentTrainingConfig
from agent.bot.nlu_data import Example
from agent.nlu.calibration import PROBABILITY_FLOOR, expected_calibration_error, fit_temperature
from agent.nlu.intent_model import ranking
from agent.nlu.interpreter import parent_ranking
from agent.nlu.neighbours import choose_knn_mix
from agent.nlu.thresholds import CONFIDENCE_X_NEIGHBOURS, Scored, in_scope_score, sweep
from agent.nlu.training.data import _batches, _in_order, _tokenize
from agent.nlu.training.negatives import SOURCE_FILE as NEGATIVES_SOURCE

if TYPE_CHECKING:
    from agent.nlu.training.result import TrainingResult

REPORT_DIGITS = 4  # rounding of the temperature and calibration errors in the training report
CALIBRATION_FOLDS = 5  # cross-fitting folds for the calibration figure
BOOTSTRAP = 200  # resamples for the calibration error's standard error
FOLD_SEED = 0


def calibrate(result: TrainingResult, cfg: IntentTrainingConfig, train: list[Example] | None = None) -> None:
    """Temperature-scale the intent confidences on the validation slice, mix in the neighbours' vote
    and the character n-gram model where they help there, fit a second temperature on that mix (what
    is served), then sweep the fallback thresholds on the served confidences of that same slice."""
    classifier, examples = result.classifier, result.val_examples
    index = {name: i for i, name in enumerate(classifier.labels)}
    texts = [e.text for e in examples]
    logits, embeddings = _validation_pass(classifier, texts)
    y = torch.tensor([index.get(e.intent, -1) for e in examples])
    classifier.temperature = fit_temperature(logits, y)
    if classifier.neighbours is not None and classifier.neighbours.labels is not None:
        classifier.knn_mix = choose_knn_mix(
            torch.softmax(logits / classifier.temperature, -1), embeddings, y, classifier.neighbours
        )
    if cfg.sparse_features and train:
        from agent.nlu import sparse

        mixed, _ = classifier.served(logits, embeddings, texts)
        candidate = sparse.fit([e.text for e in train], [e.intent for e in train], classifier.labels)
        classifier.sparse = sparse.choose_weight(candidate, mixed.numpy(), texts, y.numpy())
    own = torch.tensor([e.file != NEGATIVES_SOURCE for e in examples])
    report = _fit_mix_temperature(classifier, logits, embeddings, texts, y, own)
    after, similarity = classifier.served(logits, embeddings, texts)
    result.calibration = {
        **report,
        "temperature": round(classifier.temperature, REPORT_DIGITS),
        "mix_temperature": round(classifier.mix_temperature, REPORT_DIGITS),
        "validation_examples": len(examples),
        "knn_mix": classifier.knn_mix.to_dict() if classifier.knn_mix is not None else None,
        "sparse_weight": classifier.sparse.weight if classifier.sparse is not None else None,
    }
    similarity = similarity or [None] * len(examples)
    result.thresholds = sweep(
        [scored(e.parent_intent, ranking(classifier.labels, p), sim) for e, p, sim in zip(examples, after, similarity)]
    )
    if classifier.neighbours is not None:
        result.thresholds.signal = CONFIDENCE_X_NEIGHBOURS
    classifier.thresholds = result.thresholds


def _validation_pass(classifier, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Intent logits and normalised sentence embeddings of the validation slice, in its order."""
    ids = _tokenize(classifier, texts)
    with torch.no_grad():
        classifier.model.eval()
        logits, embeddings, order = [], [], []
        for idx, b in _batches(ids):
            out, _, pooled = classifier.model.joint(**b)
            logits.append(out)
            embeddings.append(nn.functional.normalize(pooled, dim=-1))
            order.append(idx)
    return _in_order(logits, order), _in_order(embeddings, order)


def _fit_mix_temperature(
    classifier, logits, embeddings, texts: list[str], y: torch.Tensor, own: torch.Tensor | None = None
) -> dict:
    """Both temperatures (the classifier's, then the mix's), judged by cross-fitting: each fold is
    scored with temperatures fitted on the other folds, so the "after" figure is not measured on the
    data it was fitted on. When that shows no gain over serving the mix uncalibrated, both are left
    at 1; either way the figure reported is the one for what is served. ECE comes with its bootstrap
    standard error, which on a small validation slice is large."""
    fitted_temperature = classifier.temperature

    def served(temperature: float, mix_temperature: float, rows) -> torch.Tensor:
        classifier.temperature, classifier.mix_temperature = temperature, mix_temperature
        probs, _ = classifier.served(logits[rows], embeddings[rows], [texts[i] for i in rows])
        return probs

    everything = list(range(len(texts)))
    before = served(1.0, 1.0, everything)
    crossed = torch.zeros_like(before)
    for held in _folds(len(texts)):
        rest = sorted(set(everything) - set(held))
        t1 = fit_temperature(logits[rest], y[rest])
        t2 = fit_temperature(torch.log(served(t1, 1.0, rest).clamp_min(PROBABILITY_FLOOR)), y[rest])
        crossed[held] = served(t1, t2, held)
    mix_temperature = fit_temperature(
        torch.log(served(fitted_temperature, 1.0, everything).clamp_min(PROBABILITY_FLOOR)), y
    )
    ece_before, se_before = _ece_with_error(before, y)
    ece_after, se_after = _ece_with_error(crossed, y)
    helped = ece_after < ece_before
    own = own if own is not None else torch.ones(len(texts), dtype=torch.bool)
    own_before, _ = _ece_with_error(before[own], y[own])
    own_after, own_se = _ece_with_error((crossed if helped else before)[own], y[own])
    classifier.temperature, classifier.mix_temperature = (fitted_temperature, mix_temperature) if helped else (1.0, 1.0)
    return {
        "ece_before": round(ece_before, REPORT_DIGITS),
        "ece_before_se": round(se_before, REPORT_DIGITS),
        "ece_after": round(ece_after if helped else ece_before, REPORT_DIGITS),
        "ece_after_se": round(se_after if helped else se_before, REPORT_DIGITS),
        # the same on the bot's own validation examples only (without the held-out shipped negatives)
        "ece_before_own_examples": round(own_before, REPORT_DIGITS),
        "ece_after_own_examples": round(own_after, REPORT_DIGITS),
        "ece_after_own_examples_se": round(own_se, REPORT_DIGITS),
        "ece_method": f"{CALIBRATION_FOLDS}-fold cross-fitted on the validation slice, bootstrap standard error",
        "calibrated": helped,
    }


def _folds(n: int) -> list[list[int]]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(FOLD_SEED)).tolist()
    return [sorted(order[k::CALIBRATION_FOLDS]) for k in range(CALIBRATION_FOLDS) if order[k::CALIBRATION_FOLDS]]


def _ece_with_error(probs: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """ECE of the top class on the rows with a known label, and its bootstrap standard error."""
    known = y >= 0
    confidence, correct = probs[known].max(-1).values, probs[known].argmax(-1) == y[known]
    ece = expected_calibration_error(confidence, correct)
    if len(confidence) < 2:
        return ece, 0.0
    generator = torch.Generator().manual_seed(FOLD_SEED)
    samples = [
        expected_calibration_error(confidence[rows], correct[rows])
        for rows in (torch.randint(len(confidence), (len(confidence),), generator=generator) for _ in range(BOOTSTRAP))
    ]
    return ece, float(torch.tensor(samples).std())


def scored(gold: str, ranked: list[tuple[str, float]], similarity: float | None = None) -> Scored:
    """What the threshold sweep needs from one prediction, on the parent intents users see."""
    parents = list(parent_ranking(ranked).items())
    second = parents[1][1] if len(parents) > 1 else 0.0
    return Scored(gold, parents[0][0], in_scope_score(parents[0][1], similarity), parents[0][1] - second)
