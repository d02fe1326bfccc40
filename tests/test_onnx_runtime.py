"""Serving through ONNX Runtime: same answers as torch, no transformers import, torch fallback."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile

import torch

from agent.model.artifact import open_artifact
from agent.nlu.intent_model import IntentClassifier
from agent.nlu.onnx_runtime import FastTokenizer, OnnxEncoder

TEXTS = [
    "where is my parcel",
    "hello",
    "I want to talk to a human about order ORD-123456 right now please",
    "sunday hours",
    "",
    "zzz qqq",
]


def test_artifact_has_an_onnx_graph_that_serving_prefers(trained_shopbot):
    with tarfile.open(trained_shopbot.path) as tar:
        assert "nlu/model.onnx" in tar.getnames()
    folder = open_artifact(trained_shopbot.path).folder / "nlu"
    fast = IntentClassifier.load(folder)
    slow = IntentClassifier.load(folder, runtime="torch")
    assert isinstance(fast.model, OnnxEncoder) and isinstance(fast.tokenizer, FastTokenizer)
    assert not isinstance(slow.model, OnnxEncoder)
    for a, b in zip(fast.analyse(TEXTS[:-2]), slow.analyse(TEXTS[:-2])):
        assert torch.allclose(a.probabilities, b.probabilities, atol=2e-3)
        assert torch.allclose(a.embedding, b.embedding, atol=2e-3)
        assert [(e["entity"], e["start"], e["end"]) for e in a.entities] == [
            (e["entity"], e["start"], e["end"]) for e in b.entities
        ]
        assert all(abs(x["confidence_entity"] - y["confidence_entity"]) < 2e-3 for x, y in zip(a.entities, b.entities))


def test_fast_tokenizer_matches_transformers(trained_shopbot):
    from transformers import AutoTokenizer

    folder = open_artifact(trained_shopbot.path).folder / "nlu" / "tokenizer"
    hf = AutoTokenizer.from_pretrained(str(folder))
    ours = FastTokenizer(folder / "tokenizer.json", max_length=8)  # short: truncation is exercised
    texts = TEXTS + ["word " * 30, "Ünïcode café"]
    want = hf(texts, padding=True, truncation=True, max_length=8, return_tensors="pt", return_offsets_mapping=True)
    got = ours(texts, return_offsets_mapping=True)
    for key in ("input_ids", "attention_mask", "offset_mapping"):
        assert torch.equal(want[key], got[key]), key


def test_serving_process_does_not_import_transformers(trained_shopbot):
    code = (
        "import sys; from agent.runtime import Agent; a = Agent.load(sys.argv[1]); "
        "p = a.interpreter.parse('where is my parcel'); "
        "print(json.dumps([p['intent']['name'], 'transformers' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code, str(trained_shopbot.path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    intent, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert intent and imported is False


def test_a_failed_export_falls_back_to_torch(trained_shopbot, tmp_path, monkeypatch, caplog):
    classifier = IntentClassifier.load(open_artifact(trained_shopbot.path).folder / "nlu", runtime="torch")

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(torch.onnx, "export", broken)
    classifier.save(tmp_path / "nlu")
    assert not (tmp_path / "nlu" / "model.onnx").exists()
    assert "exporter exploded" in caplog.text
    again = IntentClassifier.load(tmp_path / "nlu")
    assert not isinstance(again.model, OnnxEncoder)
    assert again.analyse(["hello"])[0].probabilities.shape[0] == len(classifier.labels)


def test_environment_can_force_torch(trained_shopbot, monkeypatch):
    monkeypatch.setenv("AGENT_NLU_RUNTIME", "torch")
    classifier = IntentClassifier.load(open_artifact(trained_shopbot.path).folder / "nlu")
    assert not isinstance(classifier.model, OnnxEncoder)
