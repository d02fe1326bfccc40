"""The training sentences nearest to a message in the fine-tuned embedding space, searched exactly with
FAISS. Their similarity says how in-scope a message is (a message far from every training example is
likely out of scope even when the softmax is sure of some intent); their intents are a second opinion
on the classifier (a k-nearest-neighbour vote, mixed in when validation shows it helps)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILE = "neighbours.npy"
LABELS_FILE = "neighbour_labels.npy"


@dataclass(frozen=True)
class KnnMix:
    """probabilities = (1 - weight) x classifier + weight x vote of the k nearest, weighted exp(sim / tau)."""
    weight: float
    k: int
    tau: float

    def to_dict(self) -> dict:
        return {"weight": self.weight, "k": self.k, "tau": self.tau}

    @classmethod
    def from_dict(cls, data: dict | None) -> "KnnMix | None":
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
    def load(cls, folder: Path, k: int = 5) -> "NeighbourIndex | None":
        path = folder / FILE
        if not path.is_file():
            return None
        labels = np.load(folder / LABELS_FILE) if (folder / LABELS_FILE).is_file() else None
        return cls(np.load(path).astype(np.float32), k, labels)
