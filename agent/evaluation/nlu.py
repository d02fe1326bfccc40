"""`agent test nlu`: how well a trained model reads held-out messages, in Rasa's report files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from agent.bot.nlu_data import Example
from agent.errors import AgentError, Problem, BotFileError


@dataclass
class NLUPrediction:
    text: str
    intent: str
    predicted: str
    confidence: float
    entities: list[dict] = field(default_factory=list)
    predicted_entities: list[dict] = field(default_factory=list)


def load_jsonl(path: Path) -> list[Example]:
    """Rows of {"text", "intent"[, "entities"]}, as the shared benchmark sets are written."""
    examples = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BotFileError(Problem(str(path), n, f"not valid JSON: {exc.msg}")) from None
        if not isinstance(row, dict) or "text" not in row or "intent" not in row:
            raise BotFileError(Problem(str(path), n, 'each line needs "text" and "intent"'))
        from agent.bot.nlu_data import EntityAnnotation

        entities = [EntityAnnotation(e["start"], e["end"], row["text"][e["start"]:e["end"]], e["entity"],
                                     e.get("value"), e.get("role"), e.get("group")) for e in row.get("entities", [])]
        examples.append(Example(row["text"], row["intent"], entities, file=str(path), line=n))
    if not examples:
        raise AgentError(f"{path}: no examples")
    return examples


def predict_all(interpreter, examples: list[Example]) -> list[NLUPrediction]:
    out = []
    for ex in examples:
        parsed = interpreter.parse(ex.text)
        out.append(NLUPrediction(ex.text, ex.parent_intent, parsed["intent"]["name"] or "",
                                 float(parsed["intent"]["confidence"]), [e.as_dict() for e in ex.entities],
                                 parsed.get("entities", [])))
    return out


def entity_report(predictions: list[NLUPrediction]) -> dict[str, dict]:
    """Exact-span precision/recall/F1 per entity and per extractor (Rasa writes one file per extractor)."""
    extractors = sorted({e.get("extractor", "unknown") for p in predictions for e in p.predicted_entities})
    reports = {}
    for extractor in extractors:
        gold, found = set(), set()
        for i, p in enumerate(predictions):
            gold |= {(i, e["start"], e["end"], e["entity"]) for e in p.entities}
            found |= {(i, e["start"], e["end"], e["entity"]) for e in p.predicted_entities
                      if e.get("extractor", "unknown") == extractor}
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


def write_nlu_reports(predictions: list[NLUPrediction], out: Path) -> dict:
    from agent.evaluation.reports import classification_report, confusion_matrix_png

    out.mkdir(parents=True, exist_ok=True)
    report = classification_report([p.intent for p in predictions], [p.predicted for p in predictions])
    (out / "intent_report.json").write_text(json.dumps(report, indent=2))
    errors = [{"text": p.text, "intent": p.intent, "intent_prediction": {"name": p.predicted,
                                                                           "confidence": p.confidence}}
              for p in predictions if p.predicted != p.intent]
    (out / "intent_errors.json").write_text(json.dumps(errors, indent=2, ensure_ascii=False))
    confusion_matrix_png([p.intent for p in predictions], [p.predicted for p in predictions],
                         out / "intent_confusion_matrix.png", "intent")
    histogram_png(predictions, out / "intent_histogram.png")
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
    ax.hist([right, wrong], bins=bins, label=[f"correct ({len(right)})", f"wrong ({len(wrong)})"],
            color=["#3a7", "#c44"])
    ax.set_xlabel("confidence")
    ax.set_ylabel("messages")
    ax.set_title("intent prediction confidence")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
