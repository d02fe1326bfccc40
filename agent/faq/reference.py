"""The bot's intent examples in the FAQ encoder's space: how close a message is to the nearest one is
weighed against its FAQ score, so an FAQ match does not take a message that an intent covers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FILE = "intent_examples.npy"


class IntentReference:
    def __init__(self, vectors: np.ndarray):
        import faiss

        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._index = faiss.IndexFlatIP(self.vectors.shape[1])
        self._index.add(self.vectors)

    def nearest(self, queries: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """Cosine to the nearest example per query; `exclude[i]` names a row query i may not match
        (itself, when the queries are the examples)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        scores, ids = self._index.search(queries, min(2, len(self.vectors)))
        if exclude is None:
            return scores[:, 0]
        own = ids[:, 0] == np.asarray(exclude)
        second = scores[:, 1] if scores.shape[1] > 1 else np.full(len(queries), -1.0, np.float32)
        return np.where(own, second, scores[:, 0])

    def save(self, folder: Path) -> None:
        np.save(folder / FILE, self.vectors.astype(np.float16))

    @classmethod
    def load(cls, folder: Path) -> IntentReference | None:
        path = folder / FILE
        return cls(np.load(path).astype(np.float32)) if path.is_file() else None
