"""The training sentences nearest to a message in the fine-tuned embedding space, searched exactly with
FAISS. Their similarity says how in-scope a message is (a message far from every training example is
likely out of scope even when the softmax is sure of some intent); their intents are a second opinion
on the classifier (a k-nearest-neighbour vote, mixed in when validation shows it helps)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch only at training time: serving a vote needs numpy alone
    import torch

FILE = "neighbours.npy"
LABELS_FILE = "neighbour_labels.npy"
# the mixes choose_knn_mix tries on validation: neighbours voting, vote sharpness, share of the vote
KNN_GRID = {"k": (5, 10, 20), "tau": (0.05, 0.1), "weight": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)}
KNN_MIN_GAIN = 2  # a mix is kept only if it gets at least this many more validation examples right ...
KNN_MIN_GAIN_SHARE = 0.002  # ... and at least this share of the validation slice more


@dataclass(frozen=True)
class KnnMix:
    """probabilities = (1 - weight) x classifier + weight x vote of the k nearest, weighted exp(sim / tau)."""

    weight: float
    k: int
    tau: float

    def to_dict(self) -> dict:
        return {"weight": self.weight, "k": self.k, "tau": self.tau}

    @classmethod
    def from_dict(cls, data: dict | None) -> KnnMix | None:
        return cls(float(data["weight"]), int(data["k"]), float(data["tau"])) if data else None


@dataclass
class NeighbourIndex:
    embeddings: np.ndarray  # L2-normalised training sentence embeddings, one row each
    k: int = 5
    labels: np.ndarray | None = None  # the intent index of each row, for the vote
    _index: object = field(default=None, init=False, repr=False)

    def __post_init__(self):
        import faiss

        self.embeddings = np.ascontiguousarray(self.embeddings, dtype=np.float32)
        self._index = faiss.IndexFlatIP(self.embeddings.shape[1])
        self._index.add(self.embeddings)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        return self._index.search(queries, min(k, len(self.embeddings)))

    def similarity(self, queries: np.ndarray) -> np.ndarray:
        """Mean cosine similarity to the k nearest training sentences, per query row."""
        scores, _ = self.search(queries, self.k)
        return scores.mean(axis=1)

    def vote(self, scores: np.ndarray, ids: np.ndarray, num_labels: int, k: int, tau: float) -> np.ndarray:
        """Intent distribution of the k nearest rows (from `search` with at least k), weighted by
        similarity relative to the nearest one."""
        scores, ids = scores[:, :k], ids[:, :k]
        weights = np.exp((scores - scores[:, :1]) / tau)
        out = np.zeros((len(scores), num_labels), dtype=np.float32)
        rows = np.repeat(np.arange(len(scores)), scores.shape[1])
        np.add.at(out, (rows, self.labels[ids].ravel()), weights.ravel())
        return out / out.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        np.save(folder / FILE, self.embeddings.astype(np.float16))
        if self.labels is not None:
            np.save(folder / LABELS_FILE, self.labels.astype(np.int32))

    @classmethod
    def load(cls, folder: Path, k: int = 5) -> NeighbourIndex | None:
        path = folder / FILE
        if not path.is_file():
            return None
        labels = np.load(folder / LABELS_FILE) if (folder / LABELS_FILE).is_file() else None
        return cls(np.load(path).astype(np.float32), k, labels)


def choose_knn_mix(
    probs: torch.Tensor, embeddings: torch.Tensor, y: torch.Tensor, neighbours: NeighbourIndex
) -> KnnMix | None:
    """The mix of the classifier with its neighbours' vote that is most accurate on validation, kept
    only when it gets at least 2 (and 0.2 %) more validation examples right than the classifier alone."""
    import torch

    scores, ids = neighbours.search(embeddings.numpy(), max(KNN_GRID["k"]))

    def correct(p: torch.Tensor) -> int:
        return int((p.argmax(-1) == y).sum())

    alone = correct(probs)
    best, best_correct = None, alone + max(KNN_MIN_GAIN, math.ceil(KNN_MIN_GAIN_SHARE * len(y))) - 1
    for k in KNN_GRID["k"]:
        for tau in KNN_GRID["tau"]:
            vote = torch.from_numpy(neighbours.vote(scores, ids, probs.shape[-1], k, tau))
            for weight in KNN_GRID["weight"]:
                n = correct((1 - weight) * probs + weight * vote)
                if n > best_correct:
                    best, best_correct = KnnMix(weight, k, tau), n
    return best
