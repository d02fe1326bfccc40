"""Training data in, tensors out: the stratified validation split, typo augmentation, tokenising and
batching. Kept apart from the loop so each step can be tested (and seeded) on its own."""

from __future__ import annotations

import random
from collections import defaultdict

import torch

from agent.bot.config import IntentTrainingConfig
from agent.bot.nlu_data import Example
from agent.nlu.entity_tags import IGNORE, align
from agent.nlu.intent_model import IntentClassifier

MIN_EXAMPLES_TO_HOLD_OUT = 4  # an intent with fewer examples gives none of them to validation
TYPO_MIN_WORD_LENGTH = 4  # shorter words are left alone: a slip in "ok" makes another word
SMALL_BATCH = 16  # training batch size below LARGE_DATA examples (when the config sets none)
LARGE_BATCH = 32  # ... and from LARGE_DATA examples on
LARGE_DATA = 2000  # from this many training examples, batches of 32 use the CPU better than 16
BUCKET_BATCHES = 8  # length bucketing sorts this many batches' worth of examples at a time
INFERENCE_BATCH = 64  # rows per batch where no gradient flows (evaluation, feature extraction)


def stratified_split(
    texts: list[str], labels: list[str], fraction: float, seed: int, min_total: int
) -> tuple[list[int], list[int]]:
    """Hold out `fraction` of each intent that has at least 4 examples; small bots keep everything."""
    indices = list(range(len(texts)))
    if len(texts) < min_total or fraction <= 0:
        return indices, []
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    rng = random.Random(seed)
    train, val = [], []
    for label in sorted(by_label):
        idx = by_label[label][:]
        rng.shuffle(idx)
        n_val = max(1, round(len(idx) * fraction)) if len(idx) >= MIN_EXAMPLES_TO_HOLD_OUT else 0
        val += idx[:n_val]
        train += idx[n_val:]
    return sorted(train), sorted(val)


def typo(text: str, rng: random.Random) -> str:
    """One realistic slip in one longer word: a dropped, doubled or swapped letter."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= TYPO_MIN_WORD_LENGTH and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1 :]
    elif kind == 1:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    words[i] = w
    return " ".join(words)


def _with_typos(
    rows: list[list[int]],
    tags: list[list[int]] | None,
    texts: list[str],
    classifier: IntentClassifier,
    rate: float,
    rng: random.Random,
):
    """Swap some examples for a misspelt copy: same number of steps, more robust to real typing.
    A misspelt copy no longer lines up with its entity tags, so its tags are ignored."""
    chosen = [k for k in range(len(rows)) if rng.random() < rate]
    if not chosen:
        return rows, tags
    noisy = _tokenize(classifier, [typo(texts[k], rng) for k in chosen])
    rows = list(rows)
    tags = list(tags) if tags is not None else None
    for k, ids in zip(chosen, noisy):
        rows[k] = ids
        if tags is not None:
            tags[k] = [IGNORE] * len(ids)
    return rows, tags


def batch_size(cfg: IntentTrainingConfig, examples: int) -> int:
    """The configured batch size, or the one that uses the CPU best for this many examples."""
    return cfg.batch_size or (SMALL_BATCH if examples < LARGE_DATA else LARGE_BATCH)


def _length_bucketed_batches(ids: list[list[int]], size: int, generator: torch.Generator) -> list[list[int]]:
    """Random batches of similar length: far less padding (CPU time) and still a fresh mix each epoch."""
    order = torch.randperm(len(ids), generator=generator).tolist()
    batches = []
    chunk = size * BUCKET_BATCHES
    for start in range(0, len(order), chunk):
        group = sorted(order[start : start + chunk], key=lambda i: len(ids[i]))
        batches += [group[k : k + size] for k in range(0, len(group), size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def _tokenize(classifier: IntentClassifier, texts: list[str]) -> list[list[int]]:
    enc = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length)
    return enc["input_ids"]


def _tokenize_tagged(classifier: IntentClassifier, examples: list[Example]):
    """Token ids and, with an entity head, one BIO tag per token from the character annotations."""
    texts = [e.text for e in examples]
    if not examples:
        return [], [], []
    if not classifier.tags:
        return _tokenize(classifier, texts), [], []
    enc = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length, return_offsets_mapping=True)
    index = {name: i for i, name in enumerate(classifier.tags)}
    tags, problems = [], []
    for example, offsets in zip(examples, enc["offset_mapping"]):
        alignment = align(example, [tuple(o) for o in offsets], index)
        tags.append(alignment.tags)
        problems += alignment.problems
    return enc["input_ids"], tags, problems


def _collate_tags(tags: list[list[int]], width: int) -> torch.Tensor:
    out = torch.full((len(tags), width), IGNORE, dtype=torch.long)
    for i, row in enumerate(tags):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def _collate(ids: list[list[int]], idx: list[int], pad: int) -> dict[str, torch.Tensor]:
    rows = [ids[i] for i in idx]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def _batches(ids: list[list[int]], pad: int = 0, size: int = INFERENCE_BATCH):
    """Batches of similar length (little padding); each comes with the row indices it holds."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        yield idx, _collate(ids, idx, pad)


def _in_order(chunks: list[torch.Tensor], idx: list[list[int]]) -> torch.Tensor:
    """Undo the length sort of `_batches`: rows back in input order."""
    out = torch.cat(chunks)
    position = torch.tensor([i for chunk in idx for i in chunk])
    return out[torch.argsort(position)]
