"""Build a bot's FAQ at `agent train`: embed the bank, sweep the answer threshold, export the
encoder for serving and write it all into the model's faq/ folder."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.bot.config import FAQConfig
from agent.faq.bank import FAQBank
from agent.faq.embedder import OnnxSentenceEmbedder, TorchSentenceEmbedder
from agent.faq.reference import IntentReference
from agent.faq.entries import FAQEntry
from agent.faq.threshold import DEFAULT_MARGIN, FAQThreshold, sweep_threshold

SETTINGS_FILE = "settings.json"
MAX_SWEEP_QUERIES = 2000


@dataclass
class FAQBuild:
    bank: FAQBank
    threshold: FAQThreshold
    onnx_problem: str | None


def leave_one_out(bank: FAQBank, limit: int = MAX_SWEEP_QUERIES,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stored question (of an entry with at least two) searched against the bank without itself:
    its best score and whether the best entry is its own. A stand-in for paraphrases nobody wrote."""
    stored = [(e.id, q) for e in bank.entries() if len(e.questions) >= 2 for q in range(len(e.questions))]
    random.Random(seed).shuffle(stored)
    scores, correct, queries = [], [], []
    ids = [e.id for e in bank.entries()]
    for entry_id, q in stored[:limit]:
        query = bank.vectors_of(entry_id)[q]
        queries.append(query)
        best_id, best = None, -np.inf
        for other in ids:
            vectors = bank.vectors_of(other)
            if other == entry_id:
                vectors = np.delete(vectors, q, axis=0)
            score = bank.score_vectors(vectors, query)
            if score > best:
                best_id, best = other, score
        scores.append(best)
        correct.append(best_id == entry_id)
    dim = bank.embedder.dim if bank.embedder else 0
    return np.asarray(scores), np.asarray(correct), np.asarray(queries).reshape(len(queries), -1) if queries \
        else np.zeros((0, dim), np.float32)


def build_faq(entries: list[FAQEntry], negatives: list[str], base_model: Path, config: FAQConfig,
              folder: Path) -> FAQBuild:
    """`negatives`: the bot's intent examples. They are what the FAQ must leave alone, and at serving
    time the nearest of them says how much a message looks like an intent rather than an FAQ."""
    embedder = TorchSentenceEmbedder(base_model)
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
    (folder / SETTINGS_FILE).write_text(json.dumps({
        "threshold": threshold.to_dict(),
        "base_model": str(base_model),
        "dim": embedder.dim,
    }, indent=1), encoding="utf-8")
    return FAQBuild(bank, threshold, onnx_problem)


def sweep_on_bank(bank: FAQBank, intents: "IntentReference | None") -> FAQThreshold:
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
