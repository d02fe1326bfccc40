"""Fine-tune an encoder plus intent head: stratified validation split, early stopping, fixed seed."""
from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn

from agent.bot.config import IntentTrainingConfig
from agent.errors import AgentError
from agent.nlu.encoder import load_encoder, load_tokenizer, resolve_base_model
from agent.nlu.intent_model import IntentClassifier, IntentModel


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_accuracy: float | None
    val_loss: float | None
    seconds: float


@dataclass
class TrainingResult:
    classifier: IntentClassifier
    history: list[EpochMetrics] = field(default_factory=list)
    best_epoch: int = 0
    val_accuracy: float | None = None
    train_size: int = 0
    val_size: int = 0
    seconds: float = 0.0
    base_model: str = ""
    initial_val_accuracy: float | None = None  # head fitted on frozen features, before fine-tuning

    def summary(self) -> dict:
        return {
            "best_epoch": self.best_epoch,
            "initial_val_accuracy": self.initial_val_accuracy,
            "val_accuracy": self.val_accuracy,
            "train_size": self.train_size,
            "val_size": self.val_size,
            "seconds": round(self.seconds, 2),
            "base_model": self.base_model,
            "history": [vars(h) for h in self.history],
        }


class Reporter(Protocol):
    def start(self, total_steps: int, epochs: int) -> None: ...
    def step(self, loss: float) -> None: ...
    def epoch_end(self, metrics: EpochMetrics) -> None: ...
    def finish(self) -> None: ...


class SilentReporter:
    def start(self, total_steps: int, epochs: int) -> None:
        pass

    def step(self, loss: float) -> None:
        pass

    def epoch_end(self, metrics: EpochMetrics) -> None:
        pass

    def finish(self) -> None:
        pass


def stratified_split(texts: list[str], labels: list[str], fraction: float, seed: int,
                     min_total: int) -> tuple[list[int], list[int]]:
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
        n_val = max(1, round(len(idx) * fraction)) if len(idx) >= 4 else 0
        val += idx[:n_val]
        train += idx[n_val:]
    return sorted(train), sorted(val)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass


def train_intent_classifier(texts: list[str], labels: list[str], cfg: IntentTrainingConfig,
                            reporter: Reporter | None = None, base_model: str | Path | None = None,
                            val_texts: list[str] | None = None, val_labels: list[str] | None = None) -> TrainingResult:
    """Two phases: fit the head on frozen sentence embeddings (seconds), then fine-tune the upper encoder."""
    reporter = reporter or SilentReporter()
    started = time.time()
    if len(set(labels)) < 2:
        raise AgentError("training needs examples of at least two intents")
    seed_everything(cfg.random_seed)
    base_path = resolve_base_model(base_model if base_model is not None else cfg.base_model)
    tokenizer = load_tokenizer(base_path)
    encoder = load_encoder(base_path)
    label_names = sorted(set(labels))
    label_index = {name: i for i, name in enumerate(label_names)}

    if val_texts is None:
        train_idx, val_idx = stratified_split(texts, labels, cfg.validation_fraction, cfg.random_seed,
                                              cfg.min_examples_for_validation)
        val_texts = [texts[i] for i in val_idx]
        val_labels = [labels[i] for i in val_idx]
        texts = [texts[i] for i in train_idx]
        labels = [labels[i] for i in train_idx]
    val_labels = val_labels or []
    y = torch.tensor([label_index[l] for l in labels])
    y_val = torch.tensor([label_index.get(l, -1) for l in val_labels])

    model = IntentModel(encoder, len(label_names))
    classifier = IntentClassifier(model, tokenizer, label_names, cfg.max_length)
    train_batches = _tokenize(classifier, texts)
    val_batches = _tokenize(classifier, val_texts) if val_texts else None

    _fit_head_on_frozen_features(model, train_batches, y, cfg)
    _freeze_lower_layers(model, cfg.frozen_layers)

    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([
        {"params": encoder_params, "lr": cfg.learning_rate},
        {"params": model.head.parameters(), "lr": cfg.learning_rate * 3},
    ], weight_decay=0.01)
    steps_per_epoch = math.ceil(len(texts) / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.max_epochs
    warmup = max(1, total_steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)

    result = TrainingResult(classifier, train_size=len(texts), val_size=len(val_texts), base_model=str(base_path))
    best_state, best_key, stale = None, None, 0
    if val_batches is not None:
        acc, vloss = _evaluate(model, val_batches, y_val, loss_fn)
        best_key, best_state, best_loss = (acc, -vloss), _trainable_state(model), vloss
        result.val_accuracy = acc
        result.initial_val_accuracy = acc
    reporter.start(total_steps, cfg.max_epochs)
    generator = torch.Generator().manual_seed(cfg.random_seed)
    noise = random.Random(cfg.random_seed)
    for epoch in range(1, cfg.max_epochs + 1):
        t0 = time.time()
        model.train()
        total_loss, correct = 0.0, 0
        for idx in _length_bucketed_batches(train_batches, cfg.batch_size, generator):
            rows = [train_batches[i] for i in idx]
            if cfg.typo_rate > 0:
                rows = _with_typos(rows, [texts[i] for i in idx], classifier, cfg.typo_rate, noise)
            batch = _collate(rows, list(range(len(rows))), tokenizer.pad_token_id or 0)
            logits = model(**batch)
            loss = loss_fn(logits, y[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(-1) == y[idx]).sum())
            reporter.step(loss.item())
        metrics = EpochMetrics(epoch, total_loss / len(texts), correct / len(texts), None, None, time.time() - t0)
        if val_batches is not None:
            metrics.val_accuracy, metrics.val_loss = _evaluate(model, val_batches, y_val, loss_fn)
            key = (metrics.val_accuracy, -metrics.val_loss)
            if key > best_key:
                best_state = _trainable_state(model)
                result.best_epoch, result.val_accuracy = epoch, metrics.val_accuracy
            # patience counts epochs that improve neither accuracy nor (by 1 %) the loss
            improved = key[0] > best_key[0] or metrics.val_loss < best_loss * 0.99
            best_loss = min(best_loss, metrics.val_loss)
            best_key = max(best_key, key)
            stale = 0 if improved else stale + 1
        else:
            result.best_epoch = epoch
        result.history.append(metrics)
        reporter.epoch_end(metrics)
        if val_batches is not None and stale >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad = True
    reporter.finish()
    result.seconds = time.time() - started
    return result


def typo(text: str, rng: random.Random) -> str:
    """One realistic slip in one longer word: a dropped, doubled or swapped letter."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1:]
    elif kind == 1:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    words[i] = w
    return " ".join(words)


def _with_typos(rows: list[list[int]], texts: list[str], classifier: IntentClassifier, rate: float,
                rng: random.Random) -> list[list[int]]:
    """Swap some examples for a misspelt copy: same number of steps, more robust to real typing."""
    chosen = [k for k in range(len(rows)) if rng.random() < rate]
    if not chosen:
        return rows
    noisy = _tokenize(classifier, [typo(texts[k], rng) for k in chosen])
    rows = list(rows)
    for k, ids in zip(chosen, noisy):
        rows[k] = ids
    return rows


def _length_bucketed_batches(ids: list[list[int]], size: int, generator: torch.Generator) -> list[list[int]]:
    """Random batches of similar length: far less padding (CPU time) and still a fresh mix each epoch."""
    order = torch.randperm(len(ids), generator=generator).tolist()
    batches = []
    chunk = size * 8
    for start in range(0, len(order), chunk):
        group = sorted(order[start:start + chunk], key=lambda i: len(ids[i]))
        batches += [group[k:k + size] for k in range(0, len(group), size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def _tokenize(classifier: IntentClassifier, texts: list[str]) -> list[list[int]]:
    enc = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length)
    return enc["input_ids"]


def _collate(ids: list[list[int]], idx: list[int], pad: int) -> dict[str, torch.Tensor]:
    rows = [ids[i] for i in idx]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def _batches(ids: list[list[int]], pad: int, size: int = 64):
    for start in range(0, len(ids), size):
        yield start, _collate(ids, list(range(start, min(len(ids), start + size))), pad)


@torch.no_grad()
def _evaluate(model: IntentModel, ids: list[list[int]], y: torch.Tensor, loss_fn) -> tuple[float, float]:
    model.eval()
    logits = torch.cat([model(**b) for _, b in _batches(ids, 0)])
    known = y >= 0
    acc = float((logits.argmax(-1) == y).float().mean())
    loss = float(loss_fn(logits[known], y[known])) if known.any() else 0.0
    return acc, loss


@torch.no_grad()
def _fit_head_on_frozen_features(model: IntentModel, ids: list[list[int]], y: torch.Tensor,
                                 cfg: IntentTrainingConfig) -> None:
    """Start fine-tuning from a head that already separates the intents, so few epochs suffice."""
    model.eval()
    feats = torch.cat([model.embed(**b) for _, b in _batches(ids, 0)])
    head = model.head
    with torch.enable_grad():
        opt = torch.optim.Adam(head.parameters(), lr=cfg.head_learning_rate * 10, weight_decay=1e-4)
        for _ in range(300):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(head(feats), y)
            loss.backward()
            opt.step()


def _freeze_lower_layers(model: IntentModel, frozen_layers: int) -> None:
    """The word-embedding matrix is most of the parameters and gains little from a few hundred
    examples; freezing it (and the lowest layers) makes an epoch ~2.5x cheaper on CPU."""
    for p in model.encoder.parameters():
        p.requires_grad = True
    embeddings = getattr(model.encoder, "embeddings", None)
    if embeddings is not None:
        for p in embeddings.parameters():
            p.requires_grad = False
    layers = _encoder_layers(model.encoder)
    for layer in layers[:max(0, frozen_layers)]:
        for p in layer.parameters():
            p.requires_grad = False


def _encoder_layers(encoder: nn.Module) -> list[nn.Module]:
    for path in ("encoder.layer", "transformer.layer", "layers", "encoder.layers"):
        obj = encoder
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return list(obj)
    return []


def _trainable_state(model: IntentModel) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}
