"""Skip recomputing the frozen bottom layers every epoch on large training sets: their output is
cached once (clean and a few misspelt copies) and epochs run only the trainable top."""

from __future__ import annotations

import random

import torch

from agent.bot.config import IntentTrainingConfig
from agent.nlu.entity_tags import IGNORE
from agent.nlu.intent_model import IntentClassifier, IntentModel
from agent.nlu.training.data import INFERENCE_BATCH, _collate, _tokenize, typo
from agent.nlu.training.optimiser import _encoder_layers

CACHE_MIN_EXAMPLES = 2000  # below this the cache saves seconds, and fresh typos every epoch are worth more
TYPO_VARIANTS = 3  # misspelt copies cached per sentence; epochs cycle through them
PROBE_ROWS = 4  # sentences checked to prove bottom + top reproduce the full encoder before caching


class FrozenBottomCache:
    """The frozen bottom's output for every training sentence and for a few misspelt copies of it,
    computed once; epochs then run only the trainable upper layers. Each epoch draws its typos from
    a different copy, so the noise still varies from epoch to epoch."""

    def __init__(self, clean: list[torch.Tensor], noisy: list[list[torch.Tensor]], layers: int, typo_rate: float):
        self.clean, self.noisy, self.layers, self.typo_rate = clean, noisy, layers, typo_rate
        self.epoch = 0

    @classmethod
    def build(
        cls,
        model: IntentModel,
        classifier: IntentClassifier,
        ids: list[list[int]],
        texts: list[str],
        cfg: IntentTrainingConfig,
        min_examples: int = CACHE_MIN_EXAMPLES,
    ) -> FrozenBottomCache | None:
        """Only for large training sets, where it saves minutes; small bots keep fresh typos every epoch."""
        from agent.nlu import layer_cache

        layers = min(cfg.frozen_layers, len(_encoder_layers(model.encoder)))
        if layers <= 0 or len(ids) < max(1, min_examples):
            return None
        probe = _collate(ids, list(range(min(PROBE_ROWS, len(ids)))), 0)
        if not layer_cache.split_matches_full(model.encoder, probe["input_ids"], probe["attention_mask"], layers):
            return None
        rng = random.Random(cfg.random_seed + 1)  # not the loop's typo stream: the cache must not shift it
        variants = min(cfg.max_epochs, TYPO_VARIANTS) if cfg.typo_rate > 0 else 0
        noisy = [
            _bottom_states(model, _tokenize(classifier, [typo(t, rng) for t in texts]), layers) for _ in range(variants)
        ]
        return cls(_bottom_states(model, ids, layers), noisy, layers, cfg.typo_rate)

    def batch(self, idx: list[int], tags: list[list[int]] | None, rng: random.Random):
        rows, out_tags = [], [] if tags is not None else None
        copy = self.noisy[self.epoch % len(self.noisy)] if self.noisy else None
        for k, i in enumerate(idx):
            noisy = copy is not None and rng.random() < self.typo_rate
            rows.append(copy[i] if noisy else self.clean[i])
            if out_tags is not None:  # a misspelt copy no longer lines up with its tags
                out_tags.append([IGNORE] * len(rows[-1]) if noisy else tags[k])
        width = max(len(r) for r in rows)
        hidden = torch.zeros(len(rows), width, rows[0].shape[-1])
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for k, r in enumerate(rows):
            hidden[k, : len(r)] = r
            mask[k, : len(r)] = 1
        return hidden, mask, out_tags

    def top(self, model: IntentModel, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        from agent.nlu.layer_cache import run_layers

        return run_layers(model.encoder, hidden, mask, self.layers)


@torch.no_grad()
def _bottom_states(model: IntentModel, ids: list[list[int]], layers: int) -> list[torch.Tensor]:
    from agent.nlu.layer_cache import bottom

    model.eval()
    out: list[torch.Tensor] = [None] * len(ids)  # type: ignore[list-item]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths: little padding
    for start in range(0, len(order), INFERENCE_BATCH):
        chunk = order[start : start + INFERENCE_BATCH]
        b = _collate(ids, chunk, 0)
        hidden = bottom(model.encoder, b["input_ids"], b["attention_mask"], layers)
        for k, i in enumerate(chunk):
            out[i] = hidden[k, : len(ids[i])].clone()
    return out
