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
from agent.nlu.calibration import expected_calibration_error, fit_temperature
from agent.nlu.intent_model import ranking
from agent.nlu.interpreter import parent_ranking
from agent.nlu.neighbours import choose_knn_mix
from agent.nlu.thresholds import CONFIDENCE_X_NEIGHBOURS, Scored, in_scope_score, sweep
from agent.nlu.training.data import _batches, _in_order, _tokenize

if TYPE_CHECKING:
    from agent.nlu.training.result import TrainingResult

REPORT_DIGITS = 4  # rounding of the temperature and calibration errors in the training report


def calibrate(result: TrainingResult, cfg: IntentTrainingConfig, train: list[Example] | None = None) -> None:
    """Temperature-scale the intent confidences on the validation slice, mix in the neighbours' vote
    and the character n-gram model where they help there, then sweep the fallback thresholds on the
    final confidences of that same slice."""
    classifier, examples = result.classifier, result.val_examples
    index = {name: i for i, name in enumerate(classifier.labels)}
    ids = _tokenize(classifier, [e.text for e in examples])
    with torch.no_grad():
        classifier.model.eval()
        logits, embeddings, order = [], [], []
        for idx, b in _batches(ids):
            out, _, pooled = classifier.model.joint(**b)
            logits.append(out)
            embeddings.append(nn.functional.normalize(pooled, dim=-1))
            order.append(idx)
        logits = _in_order(logits, order)
        embeddings = _in_order(embeddings, order)
    y = torch.tensor([index.get(e.intent, -1) for e in examples])
    before = torch.softmax(logits, -1)
    classifier.temperature = fit_temperature(logits, y)
    if classifier.neighbours is not None and classifier.neighbours.labels is not None:
        classifier.knn_mix = choose_knn_mix(
            torch.softmax(logits / classifier.temperature, -1), embeddings, y, classifier.neighbours
        )
    after, similarity = classifier.probabilities_and_similarity(logits, embeddings)
    if cfg.sparse_features and train:
        from agent.nlu import sparse

        texts = [e.text for e in examples]
        candidate = sparse.fit([e.text for e in train], [e.intent for e in train], classifier.labels)
        classifier.sparse = sparse.choose_weight(candidate, after.numpy(), texts, y.numpy())
        if classifier.sparse is not None:
            after = torch.from_numpy(classifier.sparse.mix(after.numpy(), texts))
    similarity = similarity or [None] * len(examples)
    result.calibration = {
        "temperature": round(classifier.temperature, REPORT_DIGITS),
        "ece_before": round(expected_calibration_error(before.max(-1).values, before.argmax(-1) == y), REPORT_DIGITS),
        "ece_after": round(expected_calibration_error(after.max(-1).values, after.argmax(-1) == y), REPORT_DIGITS),
        "validation_examples": len(examples),
        "knn_mix": classifier.knn_mix.to_dict() if classifier.knn_mix is not None else None,
        "sparse_weight": classifier.sparse.weight if classifier.sparse is not None else None,
    }
    result.thresholds = sweep(
        [scored(e.parent_intent, ranking(classifier.labels, p), sim) for e, p, sim in zip(examples, after, similarity)]
    )
    if classifier.neighbours is not None:
        result.thresholds.signal = CONFIDENCE_X_NEIGHBOURS
    classifier.thresholds = result.thresholds


def scored(gold: str, ranked: list[tuple[str, float]], similarity: float | None = None) -> Scored:
    """What the threshold sweep needs from one prediction, on the parent intents users see."""
    parents = list(parent_ranking(ranked).items())
    second = parents[1][1] if len(parents) > 1 else 0.0
    return Scored(gold, parents[0][0], in_scope_score(parents[0][1], similarity), parents[0][1] - second)
