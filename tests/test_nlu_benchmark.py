"""The NLU benchmark harness runs end to end on a tiny slice of a shared public data set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SHARED
from tests.helpers.shared import requires_shared

SNIPS = SHARED / "benchmarks" / "snips"


def _slice(src: Path, dst: Path, rows: dict[str, int]) -> list[str]:
    dst.mkdir(parents=True)
    texts = []
    for name, n in rows.items():
        lines = (src / name).read_text(encoding="utf-8").splitlines()
        kept = lines[:: max(1, len(lines) // n)][:n]
        (dst / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
        texts += [json.loads(line)["text"] for line in kept]
    return texts


@requires_shared("benchmarks", "snips")
def test_benchmark_prints_one_json_line_with_every_figure(tmp_path):
    from tests.helpers.tiny_model import make_tiny_bert

    data = tmp_path / "snips"
    texts = _slice(SNIPS, data, {"train.jsonl": 140, "valid.jsonl": 40, "test.jsonl": 40})
    bert = make_tiny_bert(tmp_path / "bert", texts)
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/nlu_benchmark.py",
            str(data),
            "--base-model",
            str(bert),
            "--epochs",
            "2",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["train_examples"] == 140 and figures["test_examples"] == 40 and figures["intents"] == 7
    for key in ("accuracy", "macro_f1", "entity_f1", "train_seconds", "peak_rss_mb", "inference_ms_per_utterance"):
        assert key in figures
    assert 0.0 <= figures["accuracy"] <= 1.0 and figures["peak_rss_mb"] > 0
    # valid.jsonl plus the shipped negatives held out for the threshold sweep
    assert figures["negatives"]["held_out"] > 0
    assert figures["calibration"]["validation_examples"] == 40 + figures["negatives"]["held_out"]


def test_benchmark_reports_out_of_scope_figures_when_the_data_has_them(tmp_path):
    from tests.helpers.tiny_model import make_tiny_bert

    data = tmp_path / "toy"
    data.mkdir()
    rows = {"train": [], "valid": [], "test": []}
    topics = {
        "weather": ["is it raining in {}", "weather forecast for {}", "how hot is {}"],
        "flights": ["book a flight to {}", "fly me to {}", "tickets to {}"],
    }
    cities = ["paris", "rome", "oslo", "lima", "cairo", "delhi", "tokyo", "quito"]
    for intent, templates in topics.items():
        for i, city in enumerate(cities):
            for t in templates:
                rows[["train", "train", "valid", "test"][i % 4]].append({"text": t.format(city), "intent": intent})
    for split, oos in (("valid", ["sing a song", "tell me a joke"]), ("test", ["what is love", "play chess"])):
        rows[split] += [{"text": t, "intent": "out_of_scope"} for t in oos]
    for split, items in rows.items():
        (data / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in items))
    bert = make_tiny_bert(tmp_path / "bert", [r["text"] for items in rows.values() for r in items])
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/nlu_benchmark.py",
            str(data),
            "--base-model",
            str(bert),
            "--epochs",
            "1",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 0.0 <= figures["oos_recall"] <= 1.0 and "in_scope_accuracy_at_threshold" in figures
    assert "entity_f1" not in figures
