"""Sentiment with a head fitted on a bot's own labelled examples (the `sentiment:` section): how a
Chinese shop bot does when it brings N labelled reviews of its own.

    python benchmarks/sentiment_bot_trained.py --train 3000 --test 2000

Samples (seeded) N rows of `../shared/benchmarks/sentiment_zh` train as the bot's examples, fits the head
exactly as `agent train` does (agent.nlu.sentiment.training on multilingual-e5-small embeddings), and
scores a sample of the test split; the shipped head on the same test rows for comparison. The data's
licence is unstated: these weights are measured, never shipped. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "benchmarks" / "sentiment_zh"


def rows(split: str, n: int, seed: int) -> list[dict]:
    lines = [json.loads(line) for line in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return random.Random(seed).sample(lines, min(n, len(lines)))


def figures(gold: list[str], predicted: list[str]) -> dict:
    hits = sum(g == p for g, p in zip(gold, predicted))
    said_negative = [g for g, p in zip(gold, predicted) if p == "negative"]
    negatives = gold.count("negative")
    true_negative = sum(g == "negative" for g in said_negative)
    return {
        "accuracy": round(hits / len(gold), 4),
        "negative_precision": round(true_negative / len(said_negative), 4) if said_negative else 0.0,
        "negative_recall": round(true_negative / negatives, 4) if negatives else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from agent.faq.embedder import TorchSentenceEmbedder
    from agent.nlu.encoder import resolve_base_model
    from agent.nlu.sentiment import SentimentAnalyzer, base_model_of, packaged_head
    from agent.nlu.sentiment.head import E5
    from agent.nlu.sentiment.training import fit_head

    train, test = rows("train", args.train, args.seed), rows("test", args.test, args.seed)
    embedder = TorchSentenceEmbedder(resolve_base_model(base_model_of(E5)), ["zh"])
    started = time.time()
    x_train = embedder.embed([r["text"] for r in train])
    x_test = embedder.embed([r["text"] for r in test])
    embed_s = time.time() - started
    head = fit_head(x_train, [r["label"] for r in train], E5, seed=args.seed)
    gold = [r["label"] for r in test]
    bot = [head.labels[i] for i in head.probabilities(x_test).argmax(axis=1)]
    shipped = SentimentAnalyzer(packaged_head(E5))
    as_shipped = [shipped.label(s["scores"]) for s in shipped.classify(x_test, [r["text"] for r in test])]
    print(
        json.dumps(
            {
                "train_rows": len(train),
                "test_rows": len(test),
                "bot_trained_head": figures(gold, bot),
                # the data has no neutral label: the shipped head's neutral counts as not negative
                "shipped_head": figures(gold, [p if p != "neutral" else "positive" for p in as_shipped]),
                "embedding_seconds": round(embed_s, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
