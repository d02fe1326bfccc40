"""Fine-tune an encoder plus intent head: stratified validation split, early stopping, fixed seed."""
from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from agent.bot.config import IntentTrainingConfig
from agent.bot.nlu_data import Example
from agent.errors import AgentError, Problem, Problems
from agent.nlu.calibration import expected_calibration_error, fit_temperature
from agent.nlu.entity_tags import IGNORE, align, tag_names
from agent.nlu.interpreter import parent_ranking
from agent.nlu.neighbours import KnnMix, NeighbourIndex
from agent.nlu.thresholds import (CONFIDENCE_X_NEIGHBOURS, OUT_OF_SCOPE, Scored, Thresholds, in_scope_score,
                                  sweep)
from agent.nlu.encoder import isolate_cjk, load_encoder, load_tokenizer, resolve_base_model
from agent.nlu.intent_model import IntentClassifier, IntentModel, ranking

MAX_HEAD_TOKENS = 20000
TYPO_VARIANTS = 3  # misspelt copies cached per sentence; epochs cycle through them
LARGE_DATA = 2000  # from this many training examples, batches of 32 use the CPU better than 16


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
    entity_problems: list[Problem] = field(default_factory=list)  # annotations the tagger cannot learn
    val_examples: list[Example] = field(default_factory=list)  # held out: calibration and thresholds
    calibration: dict = field(default_factory=dict)  # temperature and expected calibration error
    thresholds: Thresholds | None = None  # fallback thresholds swept on the validation slice

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
            "calibration": self.calibration,
            "thresholds": {k: v for k, v in self.thresholds.to_dict().items() if k != "curve"} if self.thresholds else None,
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


def train_nlu(examples: list[Example], cfg: IntentTrainingConfig, reporter: Reporter | None = None,
              base_model: str | Path | None = None, val_examples: list[Example] | None = None,
              languages: list[str] | None = None) -> TrainingResult:
    """Two phases: fit the heads on frozen features (seconds), then fine-tune the upper encoder with the
    intent and entity losses together; finally calibrate confidences on the validation slice."""
    reporter = reporter or SilentReporter()
    started = time.time()
    labels = [e.intent for e in examples]
    if len(set(labels)) < 2:
        raise AgentError("training needs examples of at least two intents")
    seed_everything(cfg.random_seed)
    base_path = resolve_base_model(base_model if base_model is not None else cfg.base_model)
    from agent.nlu.vocab_prune import prune_for_languages

    tokenizer, encoder = prune_for_languages(load_tokenizer(base_path), load_encoder(base_path), languages)
    tokenizer = isolate_cjk(tokenizer)
    label_names = sorted(set(labels))
    label_index = {name: i for i, name in enumerate(label_names)}

    if val_examples is None:
        train_idx, val_idx = stratified_split([e.text for e in examples], labels, cfg.validation_fraction,
                                              cfg.random_seed, cfg.min_examples_for_validation)
        val_examples = [examples[i] for i in val_idx]
        examples = [examples[i] for i in train_idx]
    texts = [e.text for e in examples]
    y = torch.tensor([label_index[e.intent] for e in examples])
    y_val = torch.tensor([label_index.get(e.intent, -1) for e in val_examples])

    wants_entities = cfg.entity_recognition and any(e.entities for e in examples)
    tag_names_ = tag_names(examples) if wants_entities and getattr(tokenizer, "is_fast", False) else []
    model = IntentModel(encoder, len(label_names), len(tag_names_))
    classifier = IntentClassifier(model, tokenizer, label_names, cfg.max_length, tag_names_)
    result = TrainingResult(classifier, train_size=len(examples), val_size=len(val_examples),
                            base_model=str(base_path))
    if wants_entities and not tag_names_:
        result.entity_problems.append(Problem(str(base_path), None, "this tokenizer reports no character "
                                              "offsets, so no entity extractor was trained",
                                              "use a base model with a fast (Rust) tokenizer", severity="warning"))
    train_ids, train_tags, problems = _tokenize_tagged(classifier, examples)
    Problems([p for p in problems if p.severity == "error"]).raise_if_errors()  # before any fine-tuning
    result.entity_problems += problems
    val_ids, val_tags, _ = _tokenize_tagged(classifier, val_examples)
    val_data = (val_ids, y_val, val_tags) if val_examples else None

    _fit_heads_on_frozen_features(model, train_ids, y, train_tags, cfg)
    _freeze_lower_layers(model, cfg.frozen_layers)
    cache = FrozenBottomCache.build(model, classifier, train_ids, texts, cfg)

    encoder_params = [p for p in model.encoder.parameters() if p.requires_grad]
    head_params = list(model.head.parameters()) + (list(model.entity_head.parameters()) if model.entity_head else [])
    optimizer = torch.optim.AdamW([
        {"params": encoder_params, "lr": cfg.learning_rate},
        {"params": head_params, "lr": cfg.learning_rate * 3},
    ], weight_decay=0.01)
    batch_size = cfg.batch_size or (16 if len(texts) < LARGE_DATA else 32)
    steps_per_epoch = math.ceil(len(texts) / batch_size)
    total_steps = steps_per_epoch * cfg.max_epochs
    warmup = max(1, total_steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
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
        for idx in _length_bucketed_batches(train_ids, batch_size, generator):
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
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
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
            improved = key[0] > best_key[0] or metrics.val_loss < best_loss * 0.99
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
        classifier.neighbours = NeighbourIndex(classifier.sentence_embeddings([e.text for e in in_scope]).numpy(),
                                               labels=np.array([label_index[e.intent] for e in in_scope]))
    if val_examples:
        calibrate(result, cfg, examples)
    reporter.finish()
    result.seconds = time.time() - started
    return result


class FrozenBottomCache:
    """The frozen bottom's output for every training sentence and for a few misspelt copies of it,
    computed once; epochs then run only the trainable upper layers. Each epoch draws its typos from
    a different copy, so the noise still varies from epoch to epoch."""

    def __init__(self, clean: list[torch.Tensor], noisy: list[list[torch.Tensor]], layers: int, typo_rate: float):
        self.clean, self.noisy, self.layers, self.typo_rate = clean, noisy, layers, typo_rate
        self.epoch = 0

    @classmethod
    def build(cls, model: IntentModel, classifier: IntentClassifier, ids: list[list[int]], texts: list[str],
              cfg: IntentTrainingConfig, min_examples: int = LARGE_DATA) -> "FrozenBottomCache | None":
        """Only for large training sets, where it saves minutes; small bots keep fresh typos every epoch."""
        from agent.nlu import layer_cache

        layers = min(cfg.frozen_layers, len(_encoder_layers(model.encoder)))
        if layers <= 0 or len(ids) < max(1, min_examples):
            return None
        probe = _collate(ids, list(range(min(4, len(ids)))), 0)
        if not layer_cache.split_matches_full(model.encoder, probe["input_ids"], probe["attention_mask"], layers):
            return None
        rng = random.Random(cfg.random_seed + 1)
        variants = min(cfg.max_epochs, TYPO_VARIANTS) if cfg.typo_rate > 0 else 0
        noisy = [_bottom_states(model, _tokenize(classifier, [typo(t, rng) for t in texts]), layers)
                 for _ in range(variants)]
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
            hidden[k, :len(r)] = r
            mask[k, :len(r)] = 1
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
    for start in range(0, len(order), 64):
        chunk = order[start:start + 64]
        b = _collate(ids, chunk, 0)
        hidden = bottom(model.encoder, b["input_ids"], b["attention_mask"], layers)
        for k, i in enumerate(chunk):
            out[i] = hidden[k, :len(ids[i])].clone()
    return out


def calibrate(result: TrainingResult, cfg: IntentTrainingConfig, train: list[Example] | None = None) -> None:
    """Temperature-scale the intent confidences on the validation slice, mix in the neighbours' vote
    and the character n-gram model where they help there, then sweep the fallback thresholds on the
    final confidences of that same slice."""
    classifier, examples = result.classifier, result.val_examples
    index = {name: i for i, name in enumerate(classifier.labels)}
    ids = _tokenize(classifier, [e.text for e in examples])
    with torch.no_grad():
        classifier.model.eval()
        logits, embeddings, order = [], [], []
        for idx, b in _batches(ids):
            out, _, pooled = classifier.model.joint(**b)
            logits.append(out)
            embeddings.append(nn.functional.normalize(pooled, dim=-1))
            order.append(idx)
        logits = _in_order(logits, order)
        embeddings = _in_order(embeddings, order)
    y = torch.tensor([index.get(e.intent, -1) for e in examples])
    before = torch.softmax(logits, -1)
    classifier.temperature = fit_temperature(logits, y)
    if classifier.neighbours is not None and classifier.neighbours.labels is not None:
        classifier.knn_mix = choose_knn_mix(torch.softmax(logits / classifier.temperature, -1), embeddings, y,
                                            classifier.neighbours)
    after, similarity = classifier.probabilities_and_similarity(logits, embeddings)
    if cfg.sparse_features and train:
        from agent.nlu import sparse

        texts = [e.text for e in examples]
        candidate = sparse.fit([e.text for e in train], [e.intent for e in train], classifier.labels)
        classifier.sparse = sparse.choose_weight(candidate, after.numpy(), texts, y.numpy())
        if classifier.sparse is not None:
            after = torch.from_numpy(classifier.sparse.mix(after.numpy(), texts))
    similarity = similarity or [None] * len(examples)
    result.calibration = {
        "temperature": round(classifier.temperature, 4),
        "ece_before": round(expected_calibration_error(before.max(-1).values, before.argmax(-1) == y), 4),
        "ece_after": round(expected_calibration_error(after.max(-1).values, after.argmax(-1) == y), 4),
        "validation_examples": len(examples),
        "knn_mix": classifier.knn_mix.to_dict() if classifier.knn_mix is not None else None,
        "sparse_weight": classifier.sparse.weight if classifier.sparse is not None else None,
    }
    result.thresholds = sweep([scored(e.parent_intent, ranking(classifier.labels, p), sim)
                               for e, p, sim in zip(examples, after, similarity)])
    if classifier.neighbours is not None:
        result.thresholds.signal = CONFIDENCE_X_NEIGHBOURS
    classifier.thresholds = result.thresholds


KNN_GRID = {"k": (5, 10, 20), "tau": (0.05, 0.1), "weight": (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)}


def choose_knn_mix(probs: torch.Tensor, embeddings: torch.Tensor, y: torch.Tensor,
                   neighbours: NeighbourIndex) -> KnnMix | None:
    """The mix of the classifier with its neighbours' vote that is most accurate on validation, kept
    only when it gets at least 2 (and 0.2 %) more validation examples right than the classifier alone."""
    scores, ids = neighbours.search(embeddings.numpy(), max(KNN_GRID["k"]))
    def correct(p: torch.Tensor) -> int:
        return int((p.argmax(-1) == y).sum())

    alone = correct(probs)
    best, best_correct = None, alone + max(2, math.ceil(0.002 * len(y))) - 1
    for k in KNN_GRID["k"]:
        for tau in KNN_GRID["tau"]:
            vote = torch.from_numpy(neighbours.vote(scores, ids, probs.shape[-1], k, tau))
            for weight in KNN_GRID["weight"]:
                n = correct((1 - weight) * probs + weight * vote)
                if n > best_correct:
                    best, best_correct = KnnMix(weight, k, tau), n
    return best


def scored(gold: str, ranked: list[tuple[str, float]], similarity: float | None = None) -> Scored:
    """What the threshold sweep needs from one prediction, on the parent intents users see."""
    parents = list(parent_ranking(ranked).items())
    second = parents[1][1] if len(parents) > 1 else 0.0
    return Scored(gold, parents[0][0], in_scope_score(parents[0][1], similarity), parents[0][1] - second)


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


def _with_typos(rows: list[list[int]], tags: list[list[int]] | None, texts: list[str],
                classifier: IntentClassifier, rate: float, rng: random.Random):
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


def _tokenize_tagged(classifier: IntentClassifier, examples: list[Example]):
    """Token ids and, with an entity head, one BIO tag per token from the character annotations."""
    texts = [e.text for e in examples]
    if not examples:
        return [], [], []
    if not classifier.tags:
        return _tokenize(classifier, texts), [], []
    enc = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length,
                               return_offsets_mapping=True)
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
        out[i, :len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def _collate(ids: list[list[int]], idx: list[int], pad: int) -> dict[str, torch.Tensor]:
    rows = [ids[i] for i in idx]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return {"input_ids": input_ids, "attention_mask": mask}


def _batches(ids: list[list[int]], pad: int = 0, size: int = 64):
    """Batches of similar length (little padding); each comes with the row indices it holds."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), size):
        idx = order[start:start + size]
        yield idx, _collate(ids, idx, pad)


def _in_order(chunks: list[torch.Tensor], idx: list[list[int]]) -> torch.Tensor:
    """Undo the length sort of `_batches`: rows back in input order."""
    out = torch.cat(chunks)
    position = torch.tensor([i for chunk in idx for i in chunk])
    return out[torch.argsort(position)]


@torch.no_grad()
def _evaluate(model: IntentModel, ids: list[list[int]], y: torch.Tensor, tags: list[list[int]],
              loss_fn) -> tuple[float, float]:
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
def _fit_heads_on_frozen_features(model: IntentModel, ids: list[list[int]], y: torch.Tensor,
                                  tags: list[list[int]], cfg: IntentTrainingConfig) -> None:
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
