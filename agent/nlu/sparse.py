"""Character n-gram features beside the dense encoder: a TF-IDF + logistic regression classifier whose
probabilities are mixed into the encoder's when that gets more validation messages right.

Short Chinese messages are often decided by one or two characters (退 vs 换, 到 vs 寄), which a
character n-gram model sees directly; on xSID zh such a model alone reaches 90 %. The mix weight is
chosen on the validation slice, and the sparse model is kept only when it helps there."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

FILE = "sparse.npz"
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5)
NGRAMS = (1, 3)


@dataclass
class SparseModel:
    vocabulary: dict[str, int]
    idf: np.ndarray
    coef: np.ndarray  # (labels, features), rows in the classifier's label order
    intercept: np.ndarray
    weight: float = 0.0

    @cached_property
    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, lowercase=True, vocabulary=self.vocabulary
        )
        vectorizer.idf_ = self.idf
        return vectorizer

    def probabilities(self, texts: list[str]) -> np.ndarray:
        scores = self._vectorizer.transform(texts) @ self.coef.T + self.intercept
        scores = np.asarray(scores, dtype=np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def mix(self, probs: np.ndarray, texts: list[str]) -> np.ndarray:
        return (1 - self.weight) * probs + self.weight * self.probabilities(texts)

    def save(self, folder: Path) -> None:
        np.savez_compressed(
            folder / FILE,
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
            meta=np.array(json.dumps({"vocabulary": self.vocabulary, "weight": self.weight})),
        )

    @classmethod
    def load(cls, folder: Path) -> SparseModel | None:
        path = folder / FILE
        if not path.is_file():
            return None
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            return cls(meta["vocabulary"], data["idf"], data["coef"], data["intercept"], float(meta["weight"]))


def fit(texts: list[str], labels: list[str], label_names: list[str]) -> SparseModel:
    """TF-IDF over character 1–3-grams (within word boundaries, so English words keep their shape)
    and a multinomial logistic regression, with rows for every label the encoder knows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, lowercase=True)
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(x, labels)
    coef = np.full((len(label_names), x.shape[1]), 0.0, dtype=np.float32)
    intercept = np.full(len(label_names), -1e4, dtype=np.float32)  # a label it never saw: never chosen
    rows = {name: i for i, name in enumerate(label_names)}
    binary = len(model.classes_) == 2  # one row: p(second) = sigmoid(w.x + b) = softmax([0, w.x + b])
    learned = np.vstack([np.zeros_like(model.coef_[0]), model.coef_[0]]) if binary else model.coef_
    bias = np.array([0.0, model.intercept_[0]]) if binary else model.intercept_
    for k, name in enumerate(model.classes_):
        coef[rows[name]], intercept[rows[name]] = learned[k], bias[k]
    vocabulary = {str(term): int(i) for term, i in vectorizer.vocabulary_.items()}
    return SparseModel(vocabulary, vectorizer.idf_.astype(np.float32), coef, intercept)


def choose_weight(sparse: SparseModel, probs: np.ndarray, texts: list[str], y: np.ndarray) -> SparseModel | None:
    """The weight that gets the most validation messages right; the sparse model is kept only when it
    gets at least 2 (and 0.2 %) more right than the encoder alone, as for the neighbour vote."""
    other = sparse.probabilities(texts)
    alone = int((probs.argmax(-1) == y).sum())
    best, best_correct = None, alone + max(2, math.ceil(0.002 * len(y))) - 1
    for weight in WEIGHTS:
        n = int((((1 - weight) * probs + weight * other).argmax(-1) == y).sum())
        if n > best_correct:
            best, best_correct = weight, n
    if best is None:
        return None
    sparse.weight = best
    return sparse
