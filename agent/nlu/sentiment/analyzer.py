"""`SentimentAnalyzer`: every parsed message gets `"sentiment": {"label", "scores", "signals"}` (Amazon
Lex's shape, lower-case labels, plus profanity / shouting / asking for a person). The bot's sentiment folder in the model holds the head (copied from the
package at training) and, unless the FAQ's encoder is the same model, the exported base encoder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.nlu.language import detect
from agent.nlu.sentiment.head import E5, MINILM, SentimentHead
from agent.nlu.sentiment.signals import signals

SETTINGS_FILE = "sentiment.json"
HEAD_FILE = "head.npz"
OWN, FAQ = "own", "faq"  # where the embeddings come from: this folder's encoder, or the FAQ's


@dataclass
class SentimentAnalyzer:
    head: SentimentHead
    embedder: object | None = None  # .embed(texts) -> unit rows; None: the FAQ's encoder (the same model)
    threshold: float | None = None  # negative from this negative score on; None: the highest score wins

    @property
    def shares_faq(self) -> bool:
        return self.embedder is None

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.embedder is None:
            raise RuntimeError("this sentiment analyser reads the FAQ encoder's vectors")
        return self.embedder.embed(texts)

    def classify(self, vectors: np.ndarray, texts: list[str] | None = None) -> list[dict]:
        """One `{"label", "scores"}` per embedding; `texts` tell each message's language (a head
        trained on English reads Chinese through its language shift)."""
        labels = list(self.head.labels)
        out = []
        for i, row in enumerate(self.head.probabilities(np.atleast_2d(vectors), self.languages(texts))):
            scores = {label: round(float(p), 4) for label, p in zip(labels, row)}
            found = {"label": self.label(scores), "scores": scores}
            if texts is not None:
                found["signals"] = signals(texts[i])  # profanity, shouting, asking for a person
            out.append(found)
        return out

    def analyse(self, texts: list[str]) -> list[dict]:
        return self.classify(self.embed(texts), texts) if texts else []

    def languages(self, texts: list[str] | None) -> list[str] | None:
        """English, or a language the head has a shift for, by each text's script."""
        if not texts or not self.head.language_shift:
            return None
        known = ["en", *sorted(self.head.language_shift)]
        return [detect(t, known) for t in texts]

    def label(self, scores: dict[str, float]) -> str:
        if self.threshold is None:
            return max(scores, key=scores.__getitem__)
        if scores["negative"] >= self.threshold:
            return "negative"
        return max((k for k in scores if k != "negative"), key=scores.__getitem__)

    # ---- the model's sentiment/ folder ----

    @staticmethod
    def write_settings(folder: Path, head: SentimentHead, threshold: float | None, source: str) -> None:
        """The head and how to embed; the encoder itself (for OWN) is exported beside it by training."""
        folder.mkdir(parents=True, exist_ok=True)
        head.save(folder / HEAD_FILE)
        settings = {"encoder": head.encoder, "base_model": base_model_of(head.encoder), "threshold": threshold}
        (folder / SETTINGS_FILE).write_text(json.dumps({**settings, "embedder": source}, indent=1), encoding="utf-8")

    @staticmethod
    def read_settings(folder: Path) -> dict:
        return json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))

    @classmethod
    def load(cls, folder: Path, embedder: object | None) -> SentimentAnalyzer:
        settings = cls.read_settings(folder)
        return cls(SentimentHead.load(folder / HEAD_FILE), embedder, settings.get("threshold"))


def base_model_of(encoder: str) -> str | None:
    """What `resolve_base_model` takes for the head's encoder (None: the packaged MiniLM)."""
    return {MINILM: None, E5: E5}[encoder]
