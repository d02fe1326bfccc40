"""Join the shipped and generated out-of-scope negatives (agent.nlu.negatives) to a bot's training
data: drop those too close to the bot's own examples (they may be in scope for this bot), train most
of the rest as `out_of_scope`, and hold some back beside the validation slice so the threshold sweep
sees out-of-scope messages the model was not trained on."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from agent.bot.nlu_data import Example
from agent.nlu import negatives
from agent.nlu.thresholds import OUT_OF_SCOPE

# a negative is dropped when it is nearer (cosine, base encoder) to a training example than this share
# of the training examples are to their own nearest neighbour: relative, because encoders differ in
# scale (MiniLM's unrelated sentences sit near 0.3, e5's near 0.7)
NEAR_QUANTILE = 0.1
GENERATED_PER_SHIPPED = 0.5  # generated noise messages per shipped out-of-domain sentence
HELD_OUT_SHARE = 0.3  # of the negatives, kept for the threshold sweep when there is a validation slice
NEGATIVES_PER_EXAMPLE = 0.5  # at most this many trained negatives per in-scope training example ...
MIN_TRAINED = 60  # ... but never fewer than this many (a tiny bot needs the class as much as a big one)
SOURCE_FILE = "(shipped out-of-scope negatives)"


@dataclass
class NegativesReport:
    shipped: int = 0
    generated: int = 0
    dropped_near_training: int = 0
    trained: int = 0
    held_out: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


def add_negatives(
    train: list[Example],
    val: list[Example],
    languages: list[str],
    embed: Callable[[list[str]], np.ndarray],
    seed: int,
) -> tuple[list[Example], list[Example], NegativesReport]:
    """`embed` gives L2-normalised sentence embeddings (the base encoder, before fine-tuning)."""
    shipped = negatives.general(languages)
    noise = negatives.generated(max(1, round(len(shipped) * GENERATED_PER_SHIPPED)), languages, seed)
    report = NegativesReport(len(shipped), len(noise))
    own = [e.text for e in train if e.parent_intent != OUT_OF_SCOPE]
    candidates = shipped + noise
    kept = [t for t, near in zip(candidates, _too_near(candidates, own, embed)) if not near] if own else candidates
    report.dropped_near_training = len(candidates) - len(kept)
    random.Random(seed).shuffle(kept)
    held = round(len(kept) * HELD_OUT_SHARE) if val else 0
    limit = max(MIN_TRAINED, round(len(own) * NEGATIVES_PER_EXAMPLE))
    to_val, to_train = kept[:held], kept[held:][:limit]
    report.trained, report.held_out = len(to_train), len(to_val)
    return train + _examples(to_train), val + _examples(to_val), report


def _too_near(candidates: list[str], own: list[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Which candidates are as close to the bot's examples as its examples are to one another."""
    mine = embed(own)
    similarity = (embed(candidates) @ mine.T).max(axis=1)
    if len(own) < 2:
        return similarity >= 1.0
    among = mine @ mine.T
    np.fill_diagonal(among, -1.0)
    return similarity >= np.quantile(among.max(axis=1), NEAR_QUANTILE)


def _examples(texts: list[str]) -> list[Example]:
    return [Example(text, OUT_OF_SCOPE, file=SOURCE_FILE) for text in texts]
