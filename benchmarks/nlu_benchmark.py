"""Train and evaluate the NLU on any folder of JSON Lines, as the shared benchmark sets are written.

    python benchmarks/nlu_benchmark.py ../shared/benchmarks/clinc150 [--few-shot N] [--no-oos] [--epochs N]

The folder holds train.jsonl, optional valid.jsonl and test.jsonl with rows {"text", "intent"[,
"entities"]}; `out_of_scope` rows are out-of-scope examples. Early stopping, temperature scaling and
the fallback thresholds use valid.jsonl (or a stratified slice of train) only; test.jsonl is read
once, at the end. With --no-oos the out-of-scope rows of train and valid are dropped, as a bot author
without out-of-scope data would train; test keeps them. Prints one JSON line of results.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def few_shot(examples, n: int | None):
    """Rasa's baseline protocol: a Random(0) shuffle, then the first n distinct texts per intent,
    out-of-scope rows dropped."""
    if not n:
        return examples
    from agent.nlu.thresholds import OUT_OF_SCOPE

    shuffled = list(examples)
    random.Random(0).shuffle(shuffled)
    texts: dict[str, set[str]] = defaultdict(set)
    kept = []
    for e in shuffled:
        if e.intent != OUT_OF_SCOPE and len(texts[e.intent]) < n and e.text not in texts[e.intent]:
            texts[e.intent].add(e.text)
            kept.append(e)
    return kept


def in_scope_only(examples):
    """--no-oos: what a bot author without out-of-scope data has."""
    from agent.nlu.thresholds import OUT_OF_SCOPE

    return [e for e in examples if e.parent_intent != OUT_OF_SCOPE] if examples is not None else None


def evaluate(classifier, thresholds, test, entity_types: set[str]) -> dict:
    """Accuracy and macro-F1 of the top intent (no fallback), then OOS figures at the chosen thresholds."""
    import torch
    from sklearn.metrics import f1_score

    from agent.nlu.calibration import expected_calibration_error
    from agent.nlu.intent_model import ranking
    from agent.nlu.thresholds import CONFIDENCE_X_NEIGHBOURS, OUT_OF_SCOPE, outcome, sweep
    from agent.nlu.training import scored

    analyses = classifier.analyse([e.text for e in test])
    use_neighbours = thresholds is not None and thresholds.signal == CONFIDENCE_X_NEIGHBOURS
    items = [
        scored(e.parent_intent, ranking(classifier.labels, a.probabilities), a.similarity if use_neighbours else None)
        for e, a in zip(test, analyses)
    ]
    in_scope = [s for s in items if not s.is_oos]
    index = {name: i for i, name in enumerate(classifier.labels)}
    known = [(a, index[e.intent]) for e, a in zip(test, analyses) if e.intent in index and e.intent != OUT_OF_SCOPE]
    probs = torch.stack([a.probabilities for a, _ in known]) if known else torch.zeros(0, 1)
    truth = torch.tensor([label for _, label in known])
    result = {
        "test_examples": len(test),
        "accuracy": sum(s.predicted == s.gold for s in in_scope) / len(in_scope),
        "macro_f1": f1_score(
            [s.gold for s in in_scope],
            [s.predicted for s in in_scope],
            average="macro",
            labels=sorted({s.gold for s in in_scope}),
            zero_division=0,
        ),
        # calibration of the probabilities served (after every mix), on the in-scope test messages
        "ece_test_in_scope": expected_calibration_error(probs.max(-1).values, probs.argmax(-1) == truth)
        if known
        else None,
    }
    if any(s.is_oos for s in items) and thresholds is not None:
        accuracy, recall, _, _ = outcome(items, thresholds.fallback, thresholds.ambiguity)
        result |= {
            "oos_recall": recall,
            "in_scope_accuracy_at_threshold": accuracy,
            "threshold": thresholds.fallback,
            "ambiguity_threshold": thresholds.ambiguity,
            "oos_signal": thresholds.signal,
            "oos_recall_oos_class_only": sum(s.predicted == OUT_OF_SCOPE for s in items if s.is_oos)
            / sum(s.is_oos for s in items),
        }
        # The figure as the literature defines it: the best point of the test set's own curve that
        # loses at most 1 pt. Descriptive only: the thresholds the model uses come from validation.
        for points in (1, 2):
            curve = sweep(items, max_in_scope_loss=points / 100)
            result |= {
                f"oos_recall_at_{points}pt_on_test_curve": curve.oos_recall,
                f"in_scope_accuracy_at_{points}pt_on_test_curve": curve.in_scope_accuracy,
            }
    if entity_types:
        gold, found = set(), set()
        for i, (e, a) in enumerate(zip(test, analyses)):
            gold |= {(i, x.start, x.end, x.entity) for x in e.entities}
            found |= {(i, x["start"], x["end"], x["entity"]) for x in a.entities}
        tp = len(gold & found)
        precision = tp / len(found) if found else 0.0
        recall = tp / len(gold) if gold else 0.0
        result |= {
            "entity_precision": precision,
            "entity_recall": recall,
            "entity_f1": 2 * precision * recall / (precision + recall) if tp else 0.0,
        }
    return result


def single_message_ms(classifier, texts: list[str], n: int = 200) -> float:
    """Median latency of one message at a time, as a server sees it."""
    import statistics

    times = []
    for text in (texts * (n // max(1, len(texts)) + 1))[:n]:
        t0 = time.perf_counter()
        classifier.analyse([text])
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def refit_sparse(classifier, train, valid, cfg) -> dict:
    """The sparse step of training on a saved classifier: the same split train_nlu makes."""
    import numpy as np

    from agent.nlu import sparse
    from agent.nlu.training import stratified_split

    if valid is None:
        train_idx, val_idx = stratified_split(
            [e.text for e in train],
            [e.intent for e in train],
            cfg.validation_fraction,
            cfg.random_seed,
            cfg.min_examples_for_validation,
        )
        valid, train = [train[i] for i in val_idx], [train[i] for i in train_idx]
    classifier.sparse = None
    probs = np.stack([a.probabilities.numpy() for a in classifier.analyse([e.text for e in valid])])
    index = {name: i for i, name in enumerate(classifier.labels)}
    y = np.array([index.get(e.intent, -1) for e in valid])
    candidate = sparse.fit([e.text for e in train], [e.intent for e in train], classifier.labels)
    classifier.sparse = sparse.choose_weight(candidate, probs, [e.text for e in valid], y)
    alone = float((probs.argmax(-1) == y).mean())
    mixed = (
        float((candidate.mix(probs, [e.text for e in valid]).argmax(-1) == y).mean())
        if classifier.sparse is not None
        else alone
    )
    return {
        "sparse_weight": classifier.sparse.weight if classifier.sparse is not None else None,
        "val_accuracy_without_sparse": round(alone, 4),
        "val_accuracy_with_sparse": round(mixed, 4),
        "sparse_alone_val_accuracy": round(
            float((candidate.probabilities([e.text for e in valid]).argmax(-1) == y).mean()), 4
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder with train.jsonl, optional valid.jsonl, test.jsonl")
    parser.add_argument("--few-shot", type=int, help="train on N examples per intent (Rasa's baseline protocol)")
    parser.add_argument(
        "--no-oos", action="store_true", help="drop out-of-scope rows from train and valid (test keeps them)"
    )
    parser.add_argument("--test-limit", type=int, help="evaluate on the first N test rows only")
    parser.add_argument("--epochs", type=int, help="at most this many fine-tuning epochs")
    parser.add_argument("--base-model", help="local Hugging Face-format directory (default: all-MiniLM-L6-v2)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save-model", help="also save the trained classifier to this folder (for analysis)")
    parser.add_argument(
        "--model",
        help="evaluate a classifier saved with --save-model instead of training "
        "(e.g. after a change to decoding only); training figures are then left out",
    )
    parser.add_argument(
        "--refit-sparse",
        action="store_true",
        help="with --model: fit the character n-gram model on the training split and choose its "
        "weight on the validation split, as training does, then evaluate",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a training setting (IntentTrainingConfig field), e.g. frozen_layers=0; "
        "choose between settings by the printed validation accuracy, never by test",
    )
    args = parser.parse_args()

    import torch

    from agent.bot.config import IntentTrainingConfig
    from agent.evaluation.nlu import load_jsonl
    from agent.nlu.training import train_nlu

    torch.set_num_threads(args.threads)
    folder = Path(args.data)
    train = few_shot(load_jsonl(folder / "train.jsonl"), args.few_shot)
    valid = load_jsonl(folder / "valid.jsonl") if (folder / "valid.jsonl").is_file() else None
    test = load_jsonl(folder / "test.jsonl")[: args.test_limit]
    if args.no_oos:
        train, valid = in_scope_only(train), in_scope_only(valid)
    cfg = IntentTrainingConfig(base_model=args.base_model)
    if args.epochs:
        cfg.max_epochs = args.epochs
    for item in args.set:
        name, _, value = item.partition("=")
        if not hasattr(cfg, name):
            parser.error(f"--set {item}: no training setting named '{name}'")
        current = getattr(cfg, name)
        setattr(cfg, name, type(current)(value) if current is not None else value)
    entity_types = {a.entity for e in train for a in e.entities}
    figures = {
        "data": folder.name,
        "train_examples": len(train),
        "intents": len({e.intent for e in train}),
        "no_oos": args.no_oos,
    }
    if args.model:
        from agent.nlu.intent_model import IntentClassifier

        classifier = IntentClassifier.load(Path(args.model))
        figures |= {"model": args.model}
        if args.refit_sparse:
            figures |= refit_sparse(classifier, train, valid, cfg)
        figures |= evaluate(classifier, classifier.thresholds, test, entity_types)
    else:
        started = time.time()
        result = train_nlu(train, cfg, val_examples=valid)
        train_seconds = time.time() - started
        if args.save_model:
            result.classifier.save(Path(args.save_model))
        classifier = result.classifier
        figures |= {
            "validation_examples": result.val_size,
            "epochs": len(result.history),
            "best_epoch": result.best_epoch,
            "val_accuracy": result.val_accuracy,
            "settings": dict(item.partition("=")[::2] for item in args.set),
        }
        figures |= evaluate(classifier, result.thresholds, test, entity_types)
        figures |= {
            "train_seconds": round(train_seconds, 1),
            "calibration": result.calibration,
            "negatives": result.negatives,
        }
    figures |= {
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "inference_ms_per_utterance": round(single_message_ms(classifier, [e.text for e in test[:50]]), 2),
    }
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
