"""The FAQ bank: entries, their question vectors and the index over them, searchable per message
and editable while serving (an edit embeds only the entry it changes).

An entry's score for a message mixes its best question's cosine with the cosine to the centroid of
all its questions: the best question catches a near-verbatim match, the centroid resists one stray
paraphrase. On the CLINC150 and HWU64 validation sets the mix beats either alone (docs/benchmarks.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.bot.faq_entries import FAQEntry
from agent.faq.embedder import SentenceEmbedder
from agent.faq.index import QuestionIndex

ENTRIES_FILE = "entries.json"
VECTORS_FILE = "questions.npy"
INDEX_FILE = "index.faiss"  # only for an approximate index: an exact one rebuilds in milliseconds
MAX_WEIGHT = 0.5  # weight of the best question; the centroid gets the rest
ROWS_PER_CANDIDATE = 10  # rows fetched from the index per candidate wanted


@dataclass(frozen=True)
class FAQMatch:
    id: str
    score: float
    question: str  # the stored question closest to the message

    def to_dict(self) -> dict:
        return {"id": self.id, "score": round(self.score, 4), "question": self.question}


@dataclass
class _Stored:
    entry: FAQEntry
    rows: list[int]
    vectors: np.ndarray  # one unit row per question
    centroid: np.ndarray


@dataclass
class FAQBank:
    embedder: SentenceEmbedder | None
    max_weight: float = MAX_WEIGHT
    _stored: dict[str, _Stored] = field(default_factory=dict)
    _row_owner: dict[int, str] = field(default_factory=dict)
    _index: QuestionIndex | None = None
    _next_row: int = 0

    @classmethod
    def build(
        cls,
        entries: list[FAQEntry],
        embedder: SentenceEmbedder,
        vectors: np.ndarray | None = None,
        max_weight: float = MAX_WEIGHT,
        index: QuestionIndex | None = None,
    ) -> FAQBank:
        """Embed every question once (or use `vectors`, one row per question in entry order; `index`:
        those rows already indexed, with row ids in the same order)."""
        bank = cls(embedder, max_weight)
        questions = [q for e in entries for q in e.questions]
        if vectors is None:
            vectors = embedder.embed(questions) if questions else np.zeros((0, embedder.dim), np.float32)
        dim = vectors.shape[1] if len(vectors) else embedder.dim
        bank._index = index or QuestionIndex.for_size(dim, len(questions))
        start = 0
        for e in entries:
            bank._put(e, vectors[start : start + len(e.questions)], indexed=index is not None)
            start += len(e.questions)
        return bank

    def __len__(self) -> int:
        return len(self._stored)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self._stored

    def entries(self) -> list[FAQEntry]:
        return [s.entry for s in self._stored.values()]

    def get(self, entry_id: str) -> FAQEntry | None:
        stored = self._stored.get(entry_id)
        return stored.entry if stored else None

    def groups(self) -> set[str]:
        return {s.entry.group for s in self._stored.values()}

    def upsert(self, entry: FAQEntry, vectors: np.ndarray | None = None) -> None:
        """Add or replace one entry; only its own questions are embedded."""
        if vectors is None:
            vectors = self.embedder.embed(entry.questions)
        self.remove(entry.id)
        self._put(entry, vectors)

    def remove(self, entry_id: str) -> bool:
        stored = self._stored.pop(entry_id, None)
        if stored is None:
            return False
        self._index.remove(stored.rows)
        for r in stored.rows:
            self._row_owner.pop(r, None)
        return True

    def _put(self, entry: FAQEntry, vectors: np.ndarray, indexed: bool = False) -> None:
        vectors = np.asarray(vectors, np.float32)
        rows = list(range(self._next_row, self._next_row + len(vectors)))
        self._next_row += len(vectors)
        if len(vectors) == 1:
            centroid = vectors[0]  # already unit length; no second copy (banks of a million one-liners)
        else:
            centroid = vectors.mean(axis=0)
            centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        self._stored[entry.id] = _Stored(entry, rows, vectors, centroid)
        for r in rows:
            self._row_owner[r] = entry.id
        if not indexed:
            self._index.add(np.asarray(rows, np.int64), vectors)

    def search(self, texts: list[str], k: int = 5, group: str | None = None) -> list[list[FAQMatch]]:
        if not texts or not self._stored:
            return [[] for _ in texts]
        return self.search_vectors(self.embedder.embed(texts), k, group)

    def search_vectors(self, queries: np.ndarray, k: int = 5, group: str | None = None) -> list[list[FAQMatch]]:
        """Best k entries per query vector, rescored exactly; `group` keeps one retrieval intent's."""
        if not self._stored:
            return [[] for _ in range(len(queries))]
        fetch = min(max(k * ROWS_PER_CANDIDATE, 50), self._next_row)
        if group is not None:
            fetch = self._next_row  # a parent intent's entries may all sit below other groups' rows
        _, ids = self._index.search(queries, fetch)
        out = []
        for q, row_ids in zip(queries, ids):
            seen: list[str] = []
            for r in row_ids:
                owner = self._row_owner.get(int(r))
                if owner is None or owner in seen:
                    continue
                if group is not None and self._stored[owner].entry.group != group:
                    continue
                seen.append(owner)
                if len(seen) >= k * 2:
                    break
            out.append(sorted((self._score(owner, q) for owner in seen), key=lambda m: -m.score)[:k])
        return out

    def _score(self, entry_id: str, query: np.ndarray) -> FAQMatch:
        stored = self._stored[entry_id]
        sims = stored.vectors @ query
        best = int(np.argmax(sims))
        score = self.max_weight * float(sims[best]) + (1 - self.max_weight) * float(stored.centroid @ query)
        return FAQMatch(entry_id, score, stored.entry.questions[best])

    def vectors_of(self, entry_id: str) -> np.ndarray:
        return self._stored[entry_id].vectors

    def score_vectors(self, vectors: np.ndarray, query: np.ndarray) -> float:
        """An entry's score for a query, given the entry's question vectors (as _score computes it)."""
        if not len(vectors):
            return -np.inf
        centroid = vectors.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        return self.max_weight * float((vectors @ query).max()) + (1 - self.max_weight) * float(centroid @ query)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        entries = self.entries()
        (folder / ENTRIES_FILE).write_text(
            json.dumps(
                {"max_weight": self.max_weight, "entries": [e.to_dict() for e in entries]}, ensure_ascii=False, indent=1
            ),
            encoding="utf-8",
        )
        dim = self._index.dim if self._index else 0
        matrix = np.concatenate([self._stored[e.id].vectors for e in entries]) if entries else np.zeros((0, dim))
        np.save(folder / VECTORS_FILE, matrix.astype(np.float32))
        if (
            self._index is not None
            and self._index.approximate
            and not self._index.removed
            and self._next_row == len(matrix)
        ):  # rows 0..n-1 in entry order, as `load` rebuilds them
            self._index.save(folder / INDEX_FILE)

    @classmethod
    def load(cls, folder: Path, embedder: SentenceEmbedder | None) -> FAQBank | None:
        if not (folder / ENTRIES_FILE).is_file():
            return None
        data = json.loads((folder / ENTRIES_FILE).read_text(encoding="utf-8"))
        entries = [FAQEntry.from_dict(e) for e in data["entries"]]
        vectors = np.load(folder / VECTORS_FILE)
        index = None
        if (folder / INDEX_FILE).is_file():
            index = QuestionIndex.load(folder / INDEX_FILE, vectors.shape[1], approximate=True)
        return cls.build(entries, embedder, vectors, float(data["max_weight"]), index)
