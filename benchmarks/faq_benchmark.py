"""FAQ retrieval figures (issue 5).

python benchmarks/faq_benchmark.py bank ../shared/benchmarks/clinc150
    A public intent data set as an FAQ bank: each intent is one entry whose questions are its training
    utterances; the test utterances are the queries. No training beyond embedding the bank. Prints
    top-1, top-3 and MRR; the entry score's mix (best question vs centroid) and, with out_of_scope
    rows, the answer threshold are chosen on valid.jsonl and then applied to test.jsonl.

python benchmarks/faq_benchmark.py bot domains/ecommerce --heldout stories/ecommerce/faq_heldout.jsonl
    The bot's own faq.yml against paraphrases nobody stored: retrieval top-1/top-3, and, through the
    trained model (--model, default: train one), how many are answered from the FAQ correctly and how
    many of the lines that are not FAQ questions are left to the intents."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.bot.faq_entries import FAQEntry  # noqa: E402
from agent.faq.bank import FAQBank  # noqa: E402
from agent.faq.embedder import OnnxSentenceEmbedder, TorchSentenceEmbedder  # noqa: E402
from agent.faq.threshold import sweep_threshold  # noqa: E402
from agent.nlu.encoder import resolve_base_model  # noqa: E402

OOS = "out_of_scope"
WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def embedder(base_model: str | None):
    """The ONNX graph `agent train` would ship (exported here once), or torch if the export fails."""
    torch_embedder = TorchSentenceEmbedder(resolve_base_model(base_model))
    folder = Path(tempfile.mkdtemp(prefix="faq-bench-"))
    return torch_embedder if torch_embedder.export(folder) else OnnxSentenceEmbedder(folder, threads=None)


def cached_embed(emb, texts: list[str], cache: Path, tag: str) -> tuple[np.ndarray, float | None]:
    key = hashlib.sha256(("\n".join(texts) + tag).encode()).hexdigest()[:16]
    path = cache / f"{key}.npy"
    if path.is_file():
        return np.load(path), None
    started = time.perf_counter()
    vectors = emb.embed(texts)
    seconds = time.perf_counter() - started
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors, seconds


def ranks(bank: FAQBank, vectors: np.ndarray, gold: list[str], k: int = 10):
    results = bank.search_vectors(vectors, k)
    rank = [next((i for i, m in enumerate(r) if m.id == g), None) for r, g in zip(results, gold)]
    return results, rank


def summary(rank: list[int | None]) -> dict:
    n = len(rank)
    return {
        "top1": round(100 * sum(r == 0 for r in rank) / n, 2),
        "top3": round(100 * sum(r is not None and r < 3 for r in rank) / n, 2),
        "mrr": round(sum(1 / (r + 1) for r in rank if r is not None) / n, 4),
        "queries": n,
    }


def run_bank(args) -> dict:
    folder = Path(args.data)
    train, valid, test = (read_jsonl(folder / f"{s}.jsonl") for s in ("train", "valid", "test"))
    questions = defaultdict(list)
    for row in train:
        if row["intent"] != OOS:
            questions[row["intent"]].append(row["text"])
    entries = [FAQEntry(intent, qs, {"text": f"answer for {intent}"}) for intent, qs in sorted(questions.items())]
    emb = embedder(args.base_model)
    cache = Path(args.cache_dir)
    bank_vectors, bank_seconds = cached_embed(emb, [q for e in entries for q in e.questions], cache, "bank")
    valid_vectors, _ = cached_embed(emb, [r["text"] for r in valid], cache, "valid")
    test_vectors, _ = cached_embed(emb, [r["text"] for r in test], cache, "test")

    def split(rows, vectors):
        ins = [i for i, r in enumerate(rows) if r["intent"] != OOS]
        oos = [i for i, r in enumerate(rows) if r["intent"] == OOS]
        return vectors[ins], [rows[i]["intent"] for i in ins], vectors[oos]

    v_in, v_gold, v_oos = split(valid, valid_vectors)
    t_in, t_gold, t_oos = split(test, test_vectors)
    on_valid = {}
    for w in WEIGHTS:
        bank = FAQBank.build(entries, emb, bank_vectors, max_weight=w)
        on_valid[w] = summary(ranks(bank, v_in, v_gold)[1])["top1"]
    weight = max(WEIGHTS, key=lambda w: (on_valid[w], -abs(w - 0.5)))
    started = time.perf_counter()
    bank = FAQBank.build(entries, emb, bank_vectors, max_weight=weight)
    build_seconds = time.perf_counter() - started
    results, rank = ranks(bank, t_in, t_gold)
    out = {
        "data": folder.name,
        "entries": len(entries),
        "stored_questions": len(bank_vectors),
        "max_weight": weight,
        "valid_top1_by_max_weight": on_valid,
        **summary(rank),
        "bank_embedding_seconds": None if bank_seconds is None else round(bank_seconds, 1),
        "index_build_seconds": round(build_seconds, 3),
    }
    for w in (0.0, 1.0):
        out[f"test_top1_max_weight_{w}"] = summary(
            ranks(FAQBank.build(entries, emb, bank_vectors, max_weight=w), t_in, t_gold)[1]
        )["top1"]
    if args.lexical:
        out["lexical_rerank"] = lexical_rerank(bank, entries, valid, v_in, v_gold, test, t_in, t_gold)
    if len(v_oos) and len(t_oos):
        v_results, v_rank = ranks(bank, v_in, v_gold)
        v_oos_scores = [r[0].score for r in bank.search_vectors(v_oos, 1)]
        chosen = sweep_threshold([r[0].score for r in v_results], [x == 0 for x in v_rank], v_oos_scores)
        t_oos_scores = np.asarray([r[0].score for r in bank.search_vectors(t_oos, 1)])
        t_scores = np.asarray([r[0].score for r in results])
        out.update(
            {
                "threshold": chosen.value,
                "oos_rejected_at_threshold": round(100 * float((t_oos_scores < chosen.value).mean()), 2),
                "in_scope_answered_correctly_at_threshold": round(
                    100 * float(((t_scores >= chosen.value) & (np.asarray(rank) == 0)).mean()), 2
                ),
            }
        )
    return out


def lexical_rerank(bank, entries, valid, v_in, v_gold, test, t_in, t_gold) -> dict:
    """Re-rank the dense top 10 with dense + lambda x char n-gram TF-IDF cosine to the entry's questions;
    lambda chosen on valid. The FAQ keeps it only if it helps (it did not: docs/benchmarks.md)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
    vectorizer.fit([q for e in entries for q in e.questions])
    docs = {e.id: normalize(vectorizer.transform(e.questions).sum(axis=0).A) for e in entries}
    lambdas = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)

    def top1(rows, vectors, gold):
        texts = [r["text"] for r in rows if r["intent"] != OOS]
        lex = normalize(vectorizer.transform(texts))
        found = bank.search_vectors(vectors, 10)
        out = {}
        for lam in lambdas:
            hits = 0
            for i, (cands, g) in enumerate(zip(found, gold)):
                best = max(cands, key=lambda m: m.score + lam * float((lex[i] @ docs[m.id].T)[0, 0]))
                hits += best.id == g
            out[lam] = round(100 * hits / len(gold), 2)
        return out

    on_valid, on_test = top1(valid, v_in, v_gold), top1(test, t_in, t_gold)
    chosen = max(lambdas, key=lambda lam: (on_valid[lam], -lam))
    return {
        "valid_top1_by_lambda": on_valid,
        "test_top1_by_lambda": on_test,
        "chosen_lambda": chosen,
        "test_gain_pts": round(on_test[chosen] - on_test[0.0], 2),
    }


def run_bot(args) -> dict:
    from agent.bot.project import load_bot

    bot = load_bot(args.bot)
    rows = read_jsonl(Path(args.heldout))
    emb = embedder(bot.config.intent.base_model)
    bank = FAQBank.build(bot.faq, emb, max_weight=bot.config.faq.max_weight)
    faq_rows = [r for r in rows if r["faq_id"]]
    _, rank = ranks(bank, emb.embed([r["text"] for r in faq_rows]), [r["faq_id"] for r in faq_rows])
    out = {
        "bot": bot.name,
        "entries": len(bot.faq),
        "heldout_paraphrases": len(faq_rows),
        "not_faq_lines": len(rows) - len(faq_rows),
        **{f"retrieval_{k}": v for k, v in summary(rank).items()},
    }
    model = args.model
    if model is None:
        from agent.train import train_bot

        model = train_bot(args.bot, tempfile.mkdtemp(prefix="faq-bench-model-")).path
    from agent.runtime import Agent

    agent = Agent.load(model)
    parsed = agent.interpreter.parse_batch([r["text"] for r in rows])
    answered = [(p.get("faq") or {}).get("answer") for p in parsed]
    hits = [a == r["faq_id"] for a, r in zip(answered, rows) if r["faq_id"]]
    left = [a is None for a, r in zip(answered, rows) if not r["faq_id"]]
    misses = [
        {"text": r["text"], "expected": r["faq_id"], "answered": a, "intent": p["intent"]["name"]}
        for a, r, p in zip(answered, rows, parsed)
        if a != r["faq_id"]
    ]
    out.update(
        {
            "model": str(model),
            "answered_correctly": round(100 * sum(hits) / len(hits), 2),
            "not_faq_left_to_intents": round(100 * sum(left) / max(len(left), 1), 2),
            "threshold": agent.interpreter.faq.threshold.to_dict(),
        }
    )
    if args.show_misses:
        out["misses"] = misses
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("bank", help="a public intent data set used as an FAQ bank")
    b.add_argument("data")
    b.add_argument("--base-model")
    b.add_argument("--cache-dir", default=".cache/faq_bench")
    b.add_argument("--lexical", action="store_true", help="also measure a char n-gram re-rank")
    o = sub.add_parser("bot", help="a bot's faq.yml against held-out paraphrases")
    o.add_argument("bot")
    o.add_argument("--heldout", required=True)
    o.add_argument("--model")
    o.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run_bank(args) if args.mode == "bank" else run_bot(args), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
