"""The sentiment head: a multinomial logistic regression over a base encoder's sentence embeddings
(mean pooled, L2-normalised, as the FAQ embeds), trained by `benchmarks/train_sentiment.py` and
shipped in `weights/` (one small .npz per encoder, with a .json of provenance and figures)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

LABELS = ("negative", "neutral", "positive")
WEIGHTS_DIR = Path(__file__).parent / "weights"
MINILM = "all-MiniLM-L6-v2"
E5 = "multilingual-e5-small"
# encoder name -> the file stem of its shipped head
HEAD_FILES = {MINILM: "minilm", E5: "e5"}
FORMAT = "agent.sentiment-head/1"


def encoder_for(languages: list[str] | None) -> str:
    """English bots read sentiment with the default English encoder; every other (and a
    multilingual) bot with multilingual-e5-small, whose head is trained on the same English data."""
    langs = [str(lang).lower() for lang in (languages or ["en"])]
    return MINILM if all(lang.startswith("en") for lang in langs) else E5


@dataclass
class SentimentHead:
    weight: np.ndarray  # (labels, dim) float32
    bias: np.ndarray  # (labels,) float32
    labels: tuple[str, ...]
    encoder: str  # the base encoder whose embeddings it reads
    # language -> logit shift for messages in that language: W @ (mean English - mean language vector)
    # over parallel sentences, so a head trained on English reads them as if in English
    language_shift: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.weight.shape[1])

    def probabilities(self, vectors: np.ndarray, languages: list[str] | None = None) -> np.ndarray:
        """Softmax over `labels`, one row per embedding (in `languages`, when given: each row's)."""
        logits = np.asarray(vectors, np.float32) @ self.weight.T + self.bias
        for i, language in enumerate(languages or []):
            if language in self.language_shift:
                logits[i] += self.language_shift[language]
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:  # np.savez appends .npz to a str path; a file object keeps the name
            np.savez(
                f,
                weight=self.weight.astype(np.float32),
                bias=self.bias.astype(np.float32),
                labels=np.array(self.labels),
                encoder=np.array(self.encoder),
                format=np.array(FORMAT),
                shift_languages=np.array(sorted(self.language_shift), dtype=str),
                language_shift=np.array(
                    [self.language_shift[k] for k in sorted(self.language_shift)], np.float32
                ).reshape(-1, len(self.labels)),
            )

    @classmethod
    def load(cls, path: Path) -> SentimentHead:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != FORMAT:
                raise ValueError(f"{path}: not a sentiment head ({data['format']})")
            return cls(
                data["weight"].astype(np.float32),
                data["bias"].astype(np.float32),
                tuple(str(x) for x in data["labels"]),
                str(data["encoder"]),
                {str(k): v for k, v in zip(data["shift_languages"], data["language_shift"])},
            )


def packaged_head(encoder: str) -> SentimentHead:
    """The head shipped for `encoder` (MiniLM or multilingual-e5-small)."""
    return SentimentHead.load(WEIGHTS_DIR / f"{HEAD_FILES[encoder]}.npz")


def provenance(encoder: str) -> dict:
    """How the shipped head was trained and what it measured (written by the training script)."""
    return json.loads((WEIGHTS_DIR / f"{HEAD_FILES[encoder]}.json").read_text(encoding="utf-8"))
