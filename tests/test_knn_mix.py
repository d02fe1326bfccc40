"""The neighbours' vote: exact on a toy index, and mixed in only when validation says it helps."""

from __future__ import annotations

import numpy as np
import torch

from agent.nlu.neighbours import KnnMix, NeighbourIndex, choose_knn_mix


def _unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_vote_weights_the_nearest_rows_by_similarity():
    index = NeighbourIndex(_unit([[1, 0], [0.9, 0.1], [0, 1]]), k=2, labels=np.array([0, 0, 1]))
    scores, ids = index.search(_unit([[0, 1], [1, 0.05]]), 3)
    vote = index.vote(scores, ids, 2, k=1, tau=0.1)
    assert vote.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    soft = index.vote(scores, ids, 2, k=3, tau=10.0)  # a high tau: nearly a plain majority of 3
    assert soft[1, 0] > 0.6 and abs(soft.sum(axis=1) - 1).max() < 1e-6


def test_mix_is_chosen_only_when_it_fixes_validation_errors():
    rng = np.random.default_rng(0)
    centres = _unit(rng.normal(size=(4, 8)))
    train = _unit(np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(40, 8)))
    labels = np.repeat(np.arange(4), 10)
    index = NeighbourIndex(train, labels=labels)
    val = _unit(np.repeat(centres, 5, axis=0) + 0.05 * rng.normal(size=(20, 8)))
    y = torch.tensor(np.repeat(np.arange(4), 5))
    right = torch.nn.functional.one_hot(y, 4).float() * 0.7 + 0.075
    assert choose_knn_mix(right, torch.from_numpy(val), y, index) is None  # nothing to fix: keep it plain
    confused = right.clone()
    confused[y == 1] = torch.tensor([0.05, 0.40, 0.45, 0.10])  # the classifier mixes up intents 1 and 2
    mix = choose_knn_mix(confused, torch.from_numpy(val), y, index)
    assert isinstance(mix, KnnMix) and mix.weight > 0
    assert KnnMix.from_dict(mix.to_dict()) == mix
