"""The training run itself: fit the heads on frozen features, fine-tune epoch by epoch with
validation-based early stopping, keep the best epoch, then build the neighbour index and calibrate.
Data handling, optimiser settings, the frozen-bottom cache and calibration are in sibling modules."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agent.bot.config import FallbackConfig, IntentTrainingConfig
from agent.bot.nlu_data import Example
from agent.errors import Errors, Problems, Warnings
from agent.nlu.encoder import isolate_cjk, load_encoder, load_tokenizer, resolve_base_model
from agent.nlu.entity_tags import IGNORE, tag_names
from agent.nlu.intent_model import IntentClassifier, IntentModel
from agent.nlu.negatives import languages_of
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
from agent.nlu.training.negatives import SOURCE_FILE as NEGATIVES_SOURCE
from agent.nlu.training.negatives import add_negatives
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
NAMES_SOURCE = "(intent names)"  # Example.file of the examples made from intent names
MAX_HEAD_TOKENS = 20000  # tokens sampled to fit the entity head on frozen features


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    np.random.seed(seed)


@dataclass
class _Run:
    """What one training run works on: the split, the token ids and entity tags, the model."""

    examples: list[Example]
    val_examples: list[Example]
    texts: list[str]
    y: torch.Tensor
    train_ids: list[list[int]]
    train_tags: list[list[int]]
    val_data: tuple | None  # (ids, labels, tags) of the validation slice
    classifier: IntentClassifier
    label_index: dict[str, int]

    @property
    def model(self) -> IntentModel:
        return self.classifier.model


class _EarlyStopping:
    """Keep the best epoch by validation accuracy (then loss); stop after `patience` epochs that
    improve neither accuracy nor, by 1 %, the loss."""

    def __init__(self, run: _Run, loss_fn: nn.Module, result: TrainingResult, patience: int):
        self.run, self.loss_fn, self.result, self.patience = run, loss_fn, result, patience
        self.best_state, self.best_key, self.stale = None, None, 0
        if run.val_data is not None:
            acc, loss = _evaluate(run.model, *run.val_data, loss_fn)
            self.best_key, self.best_state, self.best_loss = (acc, -loss), _trainable_state(run.model), loss
            result.val_accuracy = result.initial_val_accuracy = acc

    def should_stop(self, metrics: EpochMetrics) -> bool:
        if self.run.val_data is None:
            self.result.best_epoch = metrics.epoch
            return False
        metrics.val_accuracy, metrics.val_loss = _evaluate(self.run.model, *self.run.val_data, self.loss_fn)
        key = (metrics.val_accuracy, -metrics.val_loss)
        if key > self.best_key:
            self.best_state = _trainable_state(self.run.model)
            self.result.best_epoch, self.result.val_accuracy = metrics.epoch, metrics.val_accuracy
        improved = key[0] > self.best_key[0] or metrics.val_loss < self.best_loss * LOSS_IMPROVEMENT
        self.best_loss = min(self.best_loss, metrics.val_loss)
        self.best_key = max(self.best_key, key)
        self.stale = 0 if improved else self.stale + 1
        return self.stale >= self.patience

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.run.model.load_state_dict(self.best_state, strict=False)


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
    if len({e.intent for e in examples}) < 2:
        raise Errors.TRAINING_NEEDS_TWO_INTENTS.error()
    if len({e.text.strip().lower() for e in examples}) < 2:
        raise Errors.TRAINING_EXAMPLES_ALL_THE_SAME.error(text=examples[0].text)
    seed_everything(cfg.random_seed)
    run, result = _prepare(examples, val_examples, cfg, base_model, languages)
    model = run.model
    _fit_heads_on_frozen_features(model, run.train_ids, run.y, run.train_tags, cfg)
    _freeze_lower_layers(model, cfg.frozen_layers)
    cache = FrozenBottomCache.build(model, run.classifier, run.train_ids, run.texts, cfg)
    size = batch_size(cfg, len(run.texts))
    total_steps = math.ceil(len(run.texts) / size) * cfg.max_epochs
    optimizer, scheduler = build_optimiser(model, cfg, total_steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    stopping = _EarlyStopping(run, loss_fn, result, cfg.patience)
    reporter.start(total_steps, cfg.max_epochs)
    generator = torch.Generator().manual_seed(cfg.random_seed)
    noise = random.Random(cfg.random_seed)
    for epoch in range(1, cfg.max_epochs + 1):
        t0 = time.time()
        if cache is not None:
            cache.epoch = epoch - 1
        batches = _length_bucketed_batches(run.train_ids, size, generator)
        loss, accuracy = _epoch(run, cfg, batches, cache, noise, (optimizer, scheduler), loss_fn, reporter)
        metrics = EpochMetrics(epoch, loss, accuracy, None, None, time.time() - t0)
        stop = stopping.should_stop(metrics)
        result.history.append(metrics)
        reporter.epoch_end(metrics)
        if stop:
            break
    stopping.restore_best()
    _finish(run, result, cfg)
    reporter.finish()
    result.seconds = time.time() - started
    return result


def _prepare(
    examples: list[Example],
    val_examples: list[Example] | None,
    cfg: IntentTrainingConfig,
    base_model: str | Path | None,
    languages: list[str] | None,
) -> tuple[_Run, TrainingResult]:
    """Load the encoder (pruned to the bot's languages), split off validation, build the model and
    tokenise; an entity annotation the tokenizer cannot represent stops here, before any training."""
    from agent.nlu.vocab_prune import prune_for_languages

    base_path = resolve_base_model(base_model if base_model is not None else cfg.base_model)
    tokenizer, encoder = prune_for_languages(load_tokenizer(base_path), load_encoder(base_path), languages)
    tokenizer = isolate_cjk(tokenizer)
    labels = [e.intent for e in examples]
    label_names = sorted(set(labels))
    label_index = {name: i for i, name in enumerate(label_names)}
    if val_examples is None:
        texts = [e.text for e in examples]
        split = stratified_split(
            texts, labels, cfg.validation_fraction, cfg.random_seed, cfg.min_examples_for_validation
        )
        examples, val_examples = [examples[i] for i in split[0]], [examples[i] for i in split[1]]
    own_out_of_scope = any(e.parent_intent == OUT_OF_SCOPE for e in examples)
    languages = languages or languages_of([e.text for e in examples])
    if cfg.intent_names_as_examples and languages == ["en"]:
        examples = examples + name_examples(label_names)
    negatives = None
    if cfg.out_of_scope_negatives:
        embed = _base_embedder(tokenizer, encoder, cfg.max_length)
        examples, val_examples, negatives = add_negatives(examples, val_examples, languages, embed, cfg.random_seed)
    if cfg.out_of_scope_negatives or cfg.intent_names_as_examples:
        labels = [e.intent for e in examples]
        label_names = sorted(set(labels))
        label_index = {name: i for i, name in enumerate(label_names)}
    wants_entities = cfg.entity_recognition and any(e.entities for e in examples)
    tags = tag_names(examples) if wants_entities and getattr(tokenizer, "is_fast", False) else []
    classifier = IntentClassifier(
        IntentModel(encoder, len(label_names), len(tags)), tokenizer, label_names, cfg.max_length, tags
    )
    classifier.added_out_of_scope = negatives is not None and not own_out_of_scope
    result = TrainingResult(classifier, train_size=len(examples), val_size=len(val_examples), base_model=str(base_path))
    result.negatives = negatives.to_dict() if negatives is not None else None
    if wants_entities and not tags:
        result.entity_problems.append(Warnings.NO_CHARACTER_OFFSETS.problem(base_path, None))
    train_ids, train_tags, problems = _tokenize_tagged(classifier, examples)
    Problems([p for p in problems if p.severity == "error"]).raise_if_errors()
    result.entity_problems += problems
    val_ids, val_tags, _ = _tokenize_tagged(classifier, val_examples)
    y_val = torch.tensor([label_index.get(e.intent, -1) for e in val_examples])
    run = _Run(
        examples,
        val_examples,
        [e.text for e in examples],
        torch.tensor([label_index[e.intent] for e in examples]),
        train_ids,
        train_tags,
        (val_ids, y_val, val_tags) if val_examples else None,
        classifier,
        label_index,
    )
    return run, result


def _epoch(
    run: _Run,
    cfg: IntentTrainingConfig,
    batches,
    cache,
    noise: random.Random,
    optimisation,
    loss_fn: nn.Module,
    reporter: Reporter,
) -> tuple[float, float]:
    """One pass over the training data: (mean loss, accuracy)."""
    model, (optimizer, scheduler) = run.model, optimisation
    tag_loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    pad = run.classifier.tokenizer.pad_token_id or 0
    model.train()
    total_loss, correct = 0.0, 0
    for idx in batches:
        tags = [run.train_tags[i] for i in idx] if run.classifier.tags else None
        if cache is not None:
            hidden, mask, tags = cache.batch(idx, tags, noise)
            logits, tag_logits, _ = model.heads(cache.top(model, hidden, mask), mask)
        else:
            rows = [run.train_ids[i] for i in idx]
            if cfg.typo_rate > 0:
                rows, tags = _with_typos(rows, tags, [run.texts[i] for i in idx], run.classifier, cfg.typo_rate, noise)
            logits, tag_logits, _ = model.joint(**_collate(rows, list(range(len(rows))), pad))
        loss = loss_fn(logits, run.y[idx])
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
        correct += int((logits.argmax(-1) == run.y[idx]).sum())
        reporter.step(loss.item())
    return total_loss / len(run.texts), correct / len(run.texts)


def _finish(run: _Run, result: TrainingResult, cfg: IntentTrainingConfig) -> None:
    """The best epoch's model, ready to serve: the neighbour index over in-scope training examples and
    calibrated confidences."""
    model = run.model
    model.eval()
    for p in model.parameters():
        p.requires_grad = True
    result.val_examples = run.val_examples
    in_scope = [e for e in run.examples if e.parent_intent != OUT_OF_SCOPE]
    if in_scope:
        run.classifier.neighbours = NeighbourIndex(
            run.classifier.sentence_embeddings([e.text for e in in_scope]).numpy(),
            labels=np.array([run.label_index[e.intent] for e in in_scope]),
        )
    if run.val_examples:
        calibrate(result, cfg, run.examples)
    else:
        defaults = FallbackConfig()
        result.problems.append(
            Warnings.DEFAULT_FALLBACK_THRESHOLDS.problem(
                "config.yml",
                None,
                threshold=defaults.threshold,
                ambiguity=defaults.ambiguity_threshold,
                examples=len([e for e in run.examples if e.file not in (NEGATIVES_SOURCE, NAMES_SOURCE)]),
                needed=cfg.min_examples_for_validation,
            )
        )


def name_examples(label_names: list[str]) -> list[Example]:
    """Each English intent's name as one more example ("order_status" -> "order status"): in few-shot
    training the name says what the handful of examples have in common."""
    return [
        Example(name.replace("_", " ").replace("-", " ").strip(), name, file=NAMES_SOURCE)
        for name in label_names
        if "/" not in name and name != OUT_OF_SCOPE
    ]


def _base_embedder(tokenizer, encoder, max_length: int):
    """Sentence embeddings from the encoder as loaded (before fine-tuning), for choosing negatives."""
    with torch.random.fork_rng():  # the probe's head must not shift the seeded initialisation that follows
        probe = IntentClassifier(IntentModel(encoder, 1), tokenizer, ["_"], max_length)
    return lambda texts: probe.sentence_embeddings(texts).numpy()


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
