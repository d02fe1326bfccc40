"""The training run itself: fit the heads on frozen features, fine-tune epoch by epoch with
validation-based early stopping, keep the best epoch, then build the neighbour index and calibrate.
Data handling, optimiser settings, the frozen-bottom cache and calibration are in sibling modules."""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agent.bot.config import IntentTrainingConfig
from agent.bot.nlu_data import Example
from agent.errors import Errors, Problems, Warnings
from agent.nlu.encoder import isolate_cjk, load_encoder, load_tokenizer, resolve_base_model
from agent.nlu.entity_tags import IGNORE, tag_names
from agent.nlu.intent_model import IntentClassifier, IntentModel
from agent.nlu.neighbours import NeighbourIndex
from agent.nlu.thresholds import OUT_OF_SCOPE
from agent.nlu.training.calibration import calibrate
from agent.nlu.training.data import (
    _batches,
    _collate,
    _collate_tags,
    _in_order,
    _length_bucketed_batches,
    _tokenize_tagged,
    _with_typos,
    batch_size,
    stratified_split,
)
from agent.nlu.training.frozen_cache import FrozenBottomCache
from agent.nlu.training.optimiser import (
    HEAD_FIT_STEPS,
    MAX_GRAD_NORM,
    _freeze_lower_layers,
    build_optimiser,
    head_fit_optimiser,
)
from agent.nlu.training.result import EpochMetrics, Reporter, SilentReporter, TrainingResult

LABEL_SMOOTHING = 0.05  # intent loss: a little smoothing keeps the softmax from saturating on few examples
LOSS_IMPROVEMENT = 0.99  # for patience, a validation loss counts as better only below best x this (1 %)
MAX_HEAD_TOKENS = 20000  # tokens sampled to fit the entity head on frozen features


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    np.random.seed(seed)


def train_nlu(
    examples: list[Example],
    cfg: IntentTrainingConfig,
    reporter: Reporter | None = None,
    base_model: str | Path | None = None,
    val_examples: list[Example] | None = None,
    languages: list[str] | None = None,
) -> TrainingResult:
    """Two phases: fit the heads on frozen features (seconds), then fine-tune the upper encoder with the
    intent and entity losses together; finally calibrate confidences on the validation slice."""
    reporter = reporter or SilentReporter()
    started = time.time()
    labels = [e.intent for e in examples]
    if len(set(labels)) < 2:
        raise Errors.TRAINING_NEEDS_TWO_INTENTS.error()
    seed_everything(cfg.random_seed)
    base_path = resolve_base_model(base_model if base_model is not None else cfg.base_model)
    from agent.nlu.vocab_prune import prune_for_languages

    tokenizer, encoder = prune_for_languages(load_tokenizer(base_path), load_encoder(base_path), languages)
    tokenizer = isolate_cjk(tokenizer)
    label_names = sorted(set(labels))
    label_index = {name: i for i, name in enumerate(label_names)}

    if val_examples is None:
        train_idx, val_idx = stratified_split(
            [e.text for e in examples],
            labels,
            cfg.validation_fraction,
            cfg.random_seed,
            cfg.min_examples_for_validation,
        )
        val_examples = [examples[i] for i in val_idx]
        examples = [examples[i] for i in train_idx]
    texts = [e.text for e in examples]
    y = torch.tensor([label_index[e.intent] for e in examples])
    y_val = torch.tensor([label_index.get(e.intent, -1) for e in val_examples])

    wants_entities = cfg.entity_recognition and any(e.entities for e in examples)
    tag_names_ = tag_names(examples) if wants_entities and getattr(tokenizer, "is_fast", False) else []
    model = IntentModel(encoder, len(label_names), len(tag_names_))
    classifier = IntentClassifier(model, tokenizer, label_names, cfg.max_length, tag_names_)
    result = TrainingResult(classifier, train_size=len(examples), val_size=len(val_examples), base_model=str(base_path))
    if wants_entities and not tag_names_:
        result.entity_problems.append(Warnings.NO_CHARACTER_OFFSETS.problem(base_path, None))
    train_ids, train_tags, problems = _tokenize_tagged(classifier, examples)
    Problems([p for p in problems if p.severity == "error"]).raise_if_errors()  # before any fine-tuning
    result.entity_problems += problems
    val_ids, val_tags, _ = _tokenize_tagged(classifier, val_examples)
    val_data = (val_ids, y_val, val_tags) if val_examples else None

    _fit_heads_on_frozen_features(model, train_ids, y, train_tags, cfg)
    _freeze_lower_layers(model, cfg.frozen_layers)
    cache = FrozenBottomCache.build(model, classifier, train_ids, texts, cfg)

    size = batch_size(cfg, len(texts))
    total_steps = math.ceil(len(texts) / size) * cfg.max_epochs
    optimizer, scheduler = build_optimiser(model, cfg, total_steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    tag_loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)

    best_state, best_key, stale = None, None, 0
    if val_data is not None:
        acc, vloss = _evaluate(model, *val_data, loss_fn)
        best_key, best_state, best_loss = (acc, -vloss), _trainable_state(model), vloss
        result.val_accuracy = acc
        result.initial_val_accuracy = acc
    reporter.start(total_steps, cfg.max_epochs)
    generator = torch.Generator().manual_seed(cfg.random_seed)
    noise = random.Random(cfg.random_seed)
    pad = tokenizer.pad_token_id or 0
    for epoch in range(1, cfg.max_epochs + 1):
        t0 = time.time()
        model.train()
        if cache is not None:
            cache.epoch = epoch - 1
        total_loss, correct = 0.0, 0
        for idx in _length_bucketed_batches(train_ids, size, generator):
            tags = [train_tags[i] for i in idx] if tag_names_ else None
            if cache is not None:
                hidden, mask, tags = cache.batch(idx, tags, noise)
                logits, tag_logits, _ = model.heads(cache.top(model, hidden, mask), mask)
            else:
                rows = [train_ids[i] for i in idx]
                if cfg.typo_rate > 0:
                    rows, tags = _with_typos(rows, tags, [texts[i] for i in idx], classifier, cfg.typo_rate, noise)
                batch = _collate(rows, list(range(len(rows))), pad)
                logits, tag_logits, _ = model.joint(**batch)
            loss = loss_fn(logits, y[idx])
            if tag_logits is not None:
                target = _collate_tags(tags, tag_logits.shape[1])
                if (target != IGNORE).any():
                    loss = loss + tag_loss_fn(tag_logits.reshape(-1, tag_logits.shape[-1]), target.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(-1) == y[idx]).sum())
            reporter.step(loss.item())
        metrics = EpochMetrics(epoch, total_loss / len(texts), correct / len(texts), None, None, time.time() - t0)
        if val_data is not None:
            metrics.val_accuracy, metrics.val_loss = _evaluate(model, *val_data, loss_fn)
            key = (metrics.val_accuracy, -metrics.val_loss)
            if key > best_key:
                best_state = _trainable_state(model)
                result.best_epoch, result.val_accuracy = epoch, metrics.val_accuracy
            # patience counts epochs that improve neither accuracy nor (by 1 %) the loss
            improved = key[0] > best_key[0] or metrics.val_loss < best_loss * LOSS_IMPROVEMENT
            best_loss = min(best_loss, metrics.val_loss)
            best_key = max(best_key, key)
            stale = 0 if improved else stale + 1
        else:
            result.best_epoch = epoch
        result.history.append(metrics)
        reporter.epoch_end(metrics)
        if val_data is not None and stale >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad = True
    result.val_examples = val_examples
    in_scope = [e for e in examples if e.parent_intent != OUT_OF_SCOPE]
    if in_scope:
        classifier.neighbours = NeighbourIndex(
            classifier.sentence_embeddings([e.text for e in in_scope]).numpy(),
            labels=np.array([label_index[e.intent] for e in in_scope]),
        )
    if val_examples:
        calibrate(result, cfg, examples)
    reporter.finish()
    result.seconds = time.time() - started
    return result


@torch.no_grad()
def _evaluate(
    model: IntentModel, ids: list[list[int]], y: torch.Tensor, tags: list[list[int]], loss_fn
) -> tuple[float, float]:
    """Validation accuracy and loss; with an entity head both average in token-tag accuracy and loss."""
    model.eval()
    logits, order, tag_right, tag_total, tag_loss = [], [], 0, 0, 0.0
    for idx, b in _batches(ids):
        out, tag_logits, _ = model.joint(**b)
        logits.append(out)
        order.append(idx)
        if tag_logits is not None and tags:
            target = _collate_tags([tags[i] for i in idx], b["input_ids"].shape[1])
            known = target != IGNORE
            tag_right += int((tag_logits.argmax(-1)[known] == target[known]).sum())
            tag_total += int(known.sum())
            if known.any():
                tag_loss += float(nn.functional.cross_entropy(tag_logits[known], target[known], reduction="sum"))
    logits = _in_order(logits, order)
    known = y >= 0
    acc = float((logits.argmax(-1) == y).float().mean())
    loss = float(loss_fn(logits[known], y[known])) if known.any() else 0.0
    if tag_total:
        acc = (acc + tag_right / tag_total) / 2
        loss = loss + tag_loss / tag_total
    return acc, loss


@torch.no_grad()
def _fit_heads_on_frozen_features(
    model: IntentModel, ids: list[list[int]], y: torch.Tensor, tags: list[list[int]], cfg: IntentTrainingConfig
) -> None:
    """Start fine-tuning from heads that already separate the intents (and tags), so few epochs suffice."""
    model.eval()
    feats, order, token_feats, token_tags = [], [], [], []
    for idx, b in _batches(ids):
        hidden = model.hidden(**b)
        feats.append(model.pool(hidden, b["attention_mask"]))
        order.append(idx)
        if model.entity_head is not None and tags:
            target = _collate_tags([tags[i] for i in idx], hidden.shape[1])
            known = target != IGNORE
            token_feats.append(hidden[known])
            token_tags.append(target[known])
    _fit_linear(model.head, _in_order(feats, order), y, cfg)
    if token_feats:
        token_feats, token_tags = torch.cat(token_feats), torch.cat(token_tags)
        if len(token_tags) > MAX_HEAD_TOKENS:  # a sample sets the head up as well as all tokens would
            keep = torch.randperm(len(token_tags))[:MAX_HEAD_TOKENS]
            token_feats, token_tags = token_feats[keep], token_tags[keep]
        _fit_linear(model.entity_head, token_feats, token_tags, cfg)


def _fit_linear(head: nn.Linear, feats: torch.Tensor, y: torch.Tensor, cfg: IntentTrainingConfig) -> None:
    with torch.enable_grad():
        opt = head_fit_optimiser(head, cfg)
        for _ in range(HEAD_FIT_STEPS):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(head(feats), y)
            loss.backward()
            opt.step()


def _trainable_state(model: IntentModel) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}
