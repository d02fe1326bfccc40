"""Build a bot's FAQ at `agent train`: embed the bank, sweep the answer threshold, export the
encoder for serving and write it all into the model's faq/ folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.bot.config import FAQConfig
from agent.bot.faq_entries import FAQEntry
from agent.faq.bank import FAQBank
from agent.faq.embedder import OnnxSentenceEmbedder, TorchSentenceEmbedder
from agent.faq.reference import IntentReference
from agent.faq.threshold import DEFAULT_MARGIN, FAQThreshold, sweep_threshold

SETTINGS_FILE = "settings.json"
MAX_SWEEP_QUERIES = 2000


@dataclass
class FAQBuild:
    bank: FAQBank
    threshold: FAQThreshold
    onnx_problem: str | None


def leave_one_out(
    bank: FAQBank, limit: int = MAX_SWEEP_QUERIES, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stored question (of an entry with at least two) searched against the bank without itself:
    its best score, whether the best entry is its own, and its vector. A stand-in for paraphrases
    nobody wrote; scored exactly as the bank scores (best question and centroid), in numpy batches."""
    entries = bank.entries()
    if not entries:
        return np.zeros(0), np.zeros(0, bool), np.zeros((0, bank.embedder.dim if bank.embedder else 0))
    blocks = [bank.vectors_of(e.id) for e in entries]
    vectors = np.concatenate(blocks).astype(np.float32)
    sizes = np.array([len(b) for b in blocks])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    owner = np.repeat(np.arange(len(entries)), sizes)
    sums = np.stack([b.sum(axis=0) for b in blocks])
    centroids = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    candidates = np.flatnonzero(sizes[owner] >= 2)
    rows = np.random.default_rng(seed).permutation(candidates)[:limit]
    w = bank.max_weight
    scores, correct = np.zeros(len(rows)), np.zeros(len(rows), bool)
    for b in range(0, len(rows), 64):
        batch = rows[b : b + 64]
        q = vectors[batch]
        sims = q @ vectors.T
        sims[np.arange(len(batch)), batch] = -np.inf  # not itself
        best_question = np.maximum.reduceat(sims, starts, axis=1)
        centroid = q @ centroids.T
        mine = owner[batch]
        rest = sums[mine] - q  # its own entry's centroid without it
        rest /= np.maximum(np.linalg.norm(rest, axis=1, keepdims=True), 1e-12)
        centroid[np.arange(len(batch)), mine] = (rest * q).sum(axis=1)
        total = w * best_question + (1 - w) * centroid
        scores[b : b + 64] = total.max(axis=1)
        correct[b : b + 64] = total.argmax(axis=1) == mine
    return scores, correct, vectors[rows]


def build_faq(
    entries: list[FAQEntry],
    negatives: list[str],
    base_model: Path,
    config: FAQConfig,
    folder: Path,
    languages: list[str] | None = None,
) -> FAQBuild:
    """`negatives`: the bot's intent examples. They are what the FAQ must leave alone, and at serving
    time the nearest of them says how much a message looks like an intent rather than an FAQ."""
    embedder = TorchSentenceEmbedder(base_model, languages)
    onnx_problem = embedder.export(folder)
    if onnx_problem is None:  # same vectors (checked by the export), a few times faster
        embedder = OnnxSentenceEmbedder(folder, threads=None)
    bank = FAQBank.build(entries, embedder, max_weight=config.max_weight)
    intents = IntentReference(embedder.embed(negatives)) if negatives else None
    if config.threshold is not None:
        threshold = FAQThreshold(float(config.threshold), "config.yml", DEFAULT_MARGIN if intents else None)
    else:
        threshold = sweep_on_bank(bank, intents)
    bank.save(folder)
    if intents is not None:
        intents.save(folder)
    (folder / SETTINGS_FILE).write_text(
        json.dumps(
            {
                "threshold": threshold.to_dict(),
                "answer_unrecognised": config.answer_unrecognised,
                "base_model": str(base_model),
                "dim": embedder.dim,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    return FAQBuild(bank, threshold, onnx_problem)


def sweep_on_bank(bank: FAQBank, intents: IntentReference | None) -> FAQThreshold:
    pos_scores, pos_correct, pos_vectors = leave_one_out(bank)
    if intents is None:
        return sweep_threshold(pos_scores, pos_correct, [])
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(intents.vectors))[:MAX_SWEEP_QUERIES]
    neg_vectors = intents.vectors[rows]
    neg_scores = np.asarray([m[0].score if m else -1.0 for m in bank.search_vectors(neg_vectors, 1)])
    neg_near = intents.nearest(neg_vectors, exclude=rows)
    pos_near = intents.nearest(pos_vectors) if len(pos_vectors) else np.zeros(0)
    return sweep_threshold(pos_scores, pos_correct, neg_scores, pos_scores - pos_near, neg_scores - neg_near)
