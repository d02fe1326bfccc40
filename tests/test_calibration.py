"""Temperature scaling, calibration error and the threshold sweep on data where the answer is known."""

from __future__ import annotations

import random

import torch

from agent.bot.config import FallbackConfig
from agent.nlu.calibration import expected_calibration_error, fit_temperature
from agent.nlu.interpreter import effective_fallback
from agent.nlu.thresholds import OUT_OF_SCOPE, Scored, Thresholds, outcome, sweep


def _overconfident(n: int = 4000, classes: int = 5, true_t: float = 3.0, seed: int = 0):
    """Labels drawn from softmax(z), logits reported as 3 z: a model three times too sure."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, classes, generator=g) * 1.5
    labels = torch.multinomial(torch.softmax(z, -1), 1, generator=g).squeeze(1)
    return z * true_t, labels


def test_temperature_recovers_how_overconfident_the_logits_are():
    logits, labels = _overconfident()
    t = fit_temperature(logits, labels)
    assert 2.6 < t < 3.4


def test_temperature_scaling_reduces_calibration_error_and_keeps_predictions():
    logits, labels = _overconfident()
    before = torch.softmax(logits, -1)
    after = torch.softmax(logits / fit_temperature(logits, labels), -1)
    assert torch.equal(before.argmax(-1), after.argmax(-1))
    ece_before = expected_calibration_error(before.max(-1).values, before.argmax(-1) == labels)
    ece_after = expected_calibration_error(after.max(-1).values, after.argmax(-1) == labels)
    assert ece_before > 0.1 and ece_after < 0.03


def test_ece_is_zero_when_confidence_equals_accuracy():
    conf = torch.full((100,), 0.7)
    correct = torch.tensor([True] * 70 + [False] * 30)
    assert expected_calibration_error(conf, correct) < 1e-6


def _synthetic_items(seed: int = 0) -> list[Scored]:
    """In-scope messages score 0.6-1.0 (a few wrong ones lower); out-of-scope ones 0.1-0.55."""
    rng = random.Random(seed)
    items = [Scored("a", "a", rng.uniform(0.6, 1.0), 0.5) for _ in range(300)]
    items += [Scored("a", "b", rng.uniform(0.2, 0.5), 0.05) for _ in range(20)]
    items += [Scored(OUT_OF_SCOPE, "a", rng.uniform(0.1, 0.55), 0.3) for _ in range(100)]
    return items


def test_sweep_puts_the_threshold_between_in_scope_and_out_of_scope_scores():
    items = _synthetic_items()
    chosen = sweep(items)
    assert 0.5 <= chosen.fallback <= 0.6 + 1e-9
    assert chosen.oos_recall == 1.0
    assert chosen.in_scope_accuracy >= chosen.in_scope_accuracy_without - 0.01
    assert chosen.curve and chosen.curve[0].threshold == 0.0


def test_sweep_never_gives_up_more_in_scope_accuracy_than_allowed():
    rng = random.Random(1)
    # out-of-scope scores overlap the correct ones: perfect recall would cost far more than 1 point
    items = [Scored("a", "a", rng.uniform(0.3, 1.0), 0.5) for _ in range(500)]
    items += [Scored(OUT_OF_SCOPE, "a", rng.uniform(0.3, 0.8), 0.5) for _ in range(200)]
    chosen = sweep(items, max_in_scope_loss=0.01)
    accuracy, recall, _, _ = outcome(items, chosen.fallback, chosen.ambiguity)
    assert accuracy >= 0.99 - 1e-9 and 0 < recall < 0.3


def test_without_out_of_scope_data_the_sweep_catches_the_models_own_mistakes():
    items = [s for s in _synthetic_items() if not s.is_oos]
    chosen = sweep(items)
    assert chosen.oos_recall is None
    _, _, _, caught = outcome(items, chosen.fallback, chosen.ambiguity)
    assert caught == 20


def test_thresholds_in_config_win_over_the_swept_ones():
    swept = Thresholds(0.55, 0.05, "swept")
    assert effective_fallback(FallbackConfig(), swept).threshold == 0.55
    configured = FallbackConfig(0.7, 0.1, from_config=True)
    assert effective_fallback(configured, swept) is configured
    assert Thresholds.from_dict(sweep(_synthetic_items()).to_dict()).curve


def test_neighbour_similarity_is_high_near_training_sentences_and_survives_a_round_trip(tmp_path):
    import numpy as np

    from agent.nlu.neighbours import NeighbourIndex

    rng = np.random.default_rng(0)
    bank = np.zeros((50, 16))
    bank[:, :8] = rng.normal(size=(50, 8))  # the training sentences live in the first 8 dimensions
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    index = NeighbourIndex(bank, k=1)
    near = bank[3] + 0.01 * np.r_[rng.normal(size=8), np.zeros(8)]
    far = np.r_[np.zeros(8), rng.normal(size=8)]
    sims = index.similarity(np.stack([near / np.linalg.norm(near), far / np.linalg.norm(far)]))
    assert sims[0] > 0.99 and abs(sims[1]) < 1e-6
    index.save(tmp_path)
    again = NeighbourIndex.load(tmp_path, k=1)
    assert np.allclose(again.similarity(bank[:5]), index.similarity(bank[:5]), atol=1e-3)
    assert NeighbourIndex.load(tmp_path / "missing") is None


def test_in_scope_score_multiplies_confidence_by_similarity():
    from agent.nlu.thresholds import in_scope_score

    assert in_scope_score(0.9, None) == 0.9
    assert abs(in_scope_score(0.9, 0.5) - 0.45) < 1e-9 and in_scope_score(0.9, -0.2) == 0.0
