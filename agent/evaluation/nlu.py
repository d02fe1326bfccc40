"""`agent test nlu`: how well a trained model reads held-out messages, in Rasa's report files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agent.bot.nlu_data import Example
from agent.errors import BotFileError, Errors


@dataclass
class NLUPrediction:
    text: str
    intent: str
    predicted: str
    confidence: float
    entities: list[dict] = field(default_factory=list)
    predicted_entities: list[dict] = field(default_factory=list)
    top_intent: str = ""  # best intent before any fallback
    top_confidence: float = 0.0
    gap: float = 0.0  # top-1 minus top-2 confidence
    top_score: float = 0.0  # what the fallback threshold is compared with (confidence, or the in-scope score)


def load_jsonl(path: Path) -> list[Example]:
    """Rows of {"text", "intent"[, "entities"]}, as the shared benchmark sets are written."""
    examples = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BotFileError(Errors.NLU_TEST_LINE_NOT_JSON.problem(path, n, reason=exc.msg)) from None
        if not isinstance(row, dict) or "text" not in row or "intent" not in row:
            raise BotFileError(Errors.NLU_TEST_LINE_FIELDS.problem(path, n))
        from agent.bot.nlu_data import EntityAnnotation

        entities = [
            EntityAnnotation(
                e["start"],
                e["end"],
                row["text"][e["start"] : e["end"]],
                e["entity"],
                e.get("value"),
                e.get("role"),
                e.get("group"),
            )
            for e in row.get("entities", [])
        ]
        examples.append(Example(row["text"], row["intent"], entities, file=str(path), line=n))
    if not examples:
        raise Errors.NLU_TEST_DATA_EMPTY.error(where=str(path))
    return examples


def predict_all(interpreter, examples: list[Example]) -> list[NLUPrediction]:
    """Parse each example; an out-of-scope example answered by nlu_fallback counts as right."""
    from agent.nlu.interpreter import NLU_FALLBACK
    from agent.nlu.thresholds import OUT_OF_SCOPE

    out = []
    for ex in examples:
        parsed = interpreter.parse(ex.text)
        ranked = [r for r in parsed.get("intent_ranking", []) if r["name"] != NLU_FALLBACK]
        predicted = parsed["intent"]["name"] or ""
        if predicted == NLU_FALLBACK and ex.parent_intent == OUT_OF_SCOPE:
            predicted = OUT_OF_SCOPE
        top = ranked[0] if ranked else {"name": "", "confidence": 0.0}
        second = ranked[1]["confidence"] if len(ranked) > 1 else 0.0
        out.append(
            NLUPrediction(
                ex.text,
                ex.parent_intent,
                predicted,
                float(parsed["intent"]["confidence"]),
                [e.as_dict() for e in ex.entities],
                parsed.get("entities", []),
                top["name"],
                float(top["confidence"]),
                float(top["confidence"]) - second,
                float(parsed.get("in_scope_score", top["confidence"])),
            )
        )
    return out


def calibration_error(predictions: list[NLUPrediction]) -> float | None:
    """Expected calibration error of the top in-scope intent's confidence (None without any)."""
    import torch

    from agent.nlu.calibration import expected_calibration_error
    from agent.nlu.thresholds import OUT_OF_SCOPE

    rows = [p for p in predictions if p.intent != OUT_OF_SCOPE and p.top_intent]
    if not rows:
        return None
    return expected_calibration_error(
        torch.tensor([p.top_confidence for p in rows]), torch.tensor([p.top_intent == p.intent for p in rows])
    )


def oos_curve_png(predictions: list[NLUPrediction], path: Path, threshold: float | None) -> bool:
    """In-scope accuracy against out-of-scope recall as the fallback threshold moves (ours, not Rasa's)."""
    from agent.nlu.thresholds import Scored, outcome

    items = [Scored(p.intent, p.top_intent, p.top_score, p.gap) for p in predictions]
    if not any(s.is_oos for s in items) or all(s.is_oos for s in items):
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = [i / 100 for i in range(101)]
    points = [outcome(items, t, 0.0) for t in grid]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot([p[1] for p in points], [p[0] for p in points], color="#36a", label="fallback threshold 0 → 1")
    if threshold is not None:
        acc, rec, _, _ = outcome(items, threshold, 0.0)
        ax.scatter([rec], [acc], color="#c44", zorder=3, label=f"model's threshold {threshold:.3f}")
    ax.set_xlabel("out-of-scope recall")
    ax.set_ylabel("in-scope accuracy")
    ax.set_title("out-of-scope detection over thresholds")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def entity_report(predictions: list[NLUPrediction]) -> dict[str, dict]:
    """Exact-span precision/recall/F1 per entity and per extractor (Rasa writes one file per extractor)."""
    extractors = sorted({e.get("extractor", "unknown") for p in predictions for e in p.predicted_entities})
    reports = {}
    for extractor in extractors:
        gold, found = set(), set()
        for i, p in enumerate(predictions):
            gold |= {(i, e["start"], e["end"], e["entity"]) for e in p.entities}
            found |= {
                (i, e["start"], e["end"], e["entity"])
                for e in p.predicted_entities
                if e.get("extractor", "unknown") == extractor
            }
        names = sorted({g[3] for g in gold} | {f[3] for f in found})
        report = {}
        for name in [*names, None]:
            g = {x for x in gold if name is None or x[3] == name}
            f = {x for x in found if name is None or x[3] == name}
            tp = len(g & f)
            precision = tp / len(f) if f else 0.0
            recall = tp / len(g) if g else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            report[name or "micro avg"] = {"precision": precision, "recall": recall, "f1-score": f1, "support": len(g)}
        reports[extractor] = report
    return reports


def write_nlu_reports(predictions: list[NLUPrediction], out: Path, threshold: float | None = None) -> dict:
    from agent.evaluation.reports import classification_report, confusion_matrix_png

    out.mkdir(parents=True, exist_ok=True)
    report = classification_report([p.intent for p in predictions], [p.predicted for p in predictions])
    (out / "intent_report.json").write_text(json.dumps(report, indent=2))
    errors = [
        {"text": p.text, "intent": p.intent, "intent_prediction": {"name": p.predicted, "confidence": p.confidence}}
        for p in predictions
        if p.predicted != p.intent
    ]
    (out / "intent_errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False))
    confusion_matrix_png(
        [p.intent for p in predictions],
        [p.predicted for p in predictions],
        out / "intent_confusion_matrix.png",
        "intent",
    )
    histogram_png(predictions, out / "intent_histogram.png")
    oos_curve_png(predictions, out / "oos_threshold_curve.png", threshold)
    for extractor, ents in entity_report(predictions).items():
        (out / f"{extractor}_report.json").write_text(json.dumps(ents, indent=2))
    return report


def histogram_png(predictions: list[NLUPrediction], path: Path) -> None:
    """Confidence of right and wrong predictions, side by side (Rasa's intent_histogram.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    right = [p.confidence for p in predictions if p.predicted == p.intent]
    wrong = [p.confidence for p in predictions if p.predicted != p.intent]
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = [i / 20 for i in range(21)]
    ax.hist(
        [right, wrong], bins=bins, label=[f"correct ({len(right)})", f"wrong ({len(wrong)})"], color=["#3a7", "#c44"]
    )
    ax.set_xlabel("confidence")
    ax.set_ylabel("messages")
    ax.set_title("intent prediction confidence")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sentiment_report(interpreter, examples: list) -> dict:
    """How the bot's sentiment reads labelled messages (a `sentiment:` section in the test data):
    scikit-learn's per-label report plus accuracy, as `sentiment_report.json` holds it."""
    from sklearn.metrics import classification_report as sk_report

    parsed = interpreter.parse_batch([e.text for e in examples])
    predicted = [(p.get("sentiment") or {}).get("label", "none") for p in parsed]
    gold = [e.label for e in examples]
    labels = sorted(set(gold) | set(predicted))
    return sk_report(gold, predicted, labels=labels, output_dict=True, zero_division=0)
