"""How close a message is to what the bot was trained on: cosine similarity to the nearest training
sentences in the fine-tuned embedding space, searched exactly with FAISS. A message far from every
training example is likely out of scope even when the softmax is sure of some intent."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILE = "neighbours.npy"


@dataclass
class NeighbourIndex:
    embeddings: np.ndarray  # L2-normalised training sentence embeddings, one row each
    k: int = 5
    _index: object = field(default=None, init=False, repr=False)

    def __post_init__(self):
        import faiss

        self.embeddings = np.ascontiguousarray(self.embeddings, dtype=np.float32)
        self._index = faiss.IndexFlatIP(self.embeddings.shape[1])
        self._index.add(self.embeddings)

    def similarity(self, queries: np.ndarray) -> np.ndarray:
        """Mean cosine similarity to the k nearest training sentences, per query row."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(self.k, len(self.embeddings))
        scores, _ = self._index.search(queries, k)
        return scores.mean(axis=1)

    def save(self, folder: Path) -> None:
        np.save(folder / FILE, self.embeddings.astype(np.float16))

    @classmethod
    def load(cls, folder: Path, k: int = 5) -> "NeighbourIndex | None":
        path = folder / FILE
        return cls(np.load(path).astype(np.float32), k) if path.is_file() else None
