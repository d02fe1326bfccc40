"""FAISS search over stored question vectors, with edits in place.

Exact inner product below APPROXIMATE_FROM rows; HNSW above: an exact scan costs about 75 ns a row on
one core, so from ~30k rows its p99 passes 2 ms, a fifth of a message's 10 ms search budget, while HNSW
(efSearch 128) answers 1M rows with p99 1.6 ms at recall@1 0.978 against exact (docs/benchmarks.md,
`benchmarks/faq_scale_benchmark.py`). The built HNSW graph is saved with the model: rebuilding it for
a million rows takes about ten minutes on two cores.
HNSW cannot delete, so removed rows are tombstoned and filtered out of an over-fetched result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

APPROXIMATE_FROM = 30_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


@dataclass
class QuestionIndex:
    dim: int
    approximate: bool = False
    ef_search: int = HNSW_EF_SEARCH
    removed: set[int] = field(default_factory=set)
    _index: object = field(default=None, init=False, repr=False)

    def __post_init__(self):
        import faiss

        if self.approximate:
            base = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            base.hnsw.efSearch = self.ef_search
        else:
            base = faiss.IndexFlatIP(self.dim)
        self._base = base
        self._index = faiss.IndexIDMap2(base)

    @classmethod
    def for_size(cls, dim: int, rows: int) -> QuestionIndex:
        return cls(dim, approximate=rows >= APPROXIMATE_FROM)

    def __len__(self) -> int:
        return self._index.ntotal - len(self.removed)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64)
            )

    def remove(self, ids) -> None:
        ids = np.asarray(list(ids), dtype=np.int64)
        if not len(ids):
            return
        if self.approximate:
            self.removed.update(int(i) for i in ids)
        else:
            self._index.remove_ids(ids)

    def save(self, path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path, dim: int, approximate: bool) -> QuestionIndex:
        import faiss

        index = cls(dim, approximate)
        index._index = faiss.read_index(str(path))
        index._base = faiss.downcast_index(index._index.index)
        if approximate:
            index._base.hnsw.efSearch = index.ef_search
        return index

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best k rows per query (scores, row ids); ids of -1 pad when there are fewer rows."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        extra = min(len(self.removed), 256)
        scores, ids = self._index.search(queries, k + extra)
        if extra:
            keep = ~np.isin(ids, np.fromiter(self.removed, np.int64, len(self.removed)))
            out_s = np.full((len(queries), k), -np.inf, np.float32)
            out_i = np.full((len(queries), k), -1, np.int64)
            for q in range(len(queries)):
                s, i = scores[q][keep[q]][:k], ids[q][keep[q]][:k]
                out_s[q, : len(s)], out_i[q, : len(i)] = s, i
            return out_s, out_i
        return scores, ids
