"""The command line as a user runs it: train, shell through stdin, data validate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_agent(*args: str, stdin: str = "", cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=timeout,
    )


def test_shell_replies_through_piped_stdin(trained_shopbot):
    proc = run_agent(
        "shell", "--model", str(trained_shopbot.path), stdin="hello\n1\nhello\n2\n/restart\nhow much is shipping\n"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "bot: Hello! How can I help?" in out
    assert "1. Where is my order?" in out and "2. A human, please" in out
    # "1" pressed the first button (/order_status), "2" the second button of the next greeting
    assert "bot: Which order do you mean?" in out
    assert "bot: I am connecting you to a colleague." in out
    assert "conversation restarted" in out
    assert "bot: Shipping is free above 50 euros." in out


def test_shell_debug_view_shows_intents_actions_and_slots(trained_shopbot):
    proc = run_agent(
        "shell", "--model", str(trained_shopbot.path), "--debug", stdin='/order_status{"order_id": "ORD-1"}\n'
    )
    assert proc.returncode == 0, proc.stderr
    assert "order_status" in proc.stdout and "1.000" in proc.stdout
    assert "utter_order_status [RulePolicy 1.00]" in proc.stdout
    assert "'order_id': 'ORD-1'" in proc.stdout


def test_shell_without_model_says_what_to_do(tmp_path):
    proc = run_agent("shell", "--models-dir", str(tmp_path / "none"), stdin="hi\n")
    assert proc.returncode == 1
    assert "agent train" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_train_command_writes_model(tmp_path, shopbot_dir, tiny_bert):
    proc = run_agent(
        "train",
        str(shopbot_dir),
        "--out",
        str(tmp_path),
        "--base-model",
        str(tiny_bert),
        "--epochs",
        "1",
        "--fixed-model-name",
        "cli",
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cli.tar.gz").is_file()
    assert "DIETClassifier: replaced by the fine-tuned transformer intent classifier" in proc.stderr


def test_train_rejects_bad_bot_with_file_and_line(tmp_path):
    bot = tmp_path / "bad"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\nresponses:\n  utter_greet:\n    - text: hi\n')
    (bot / "data" / "rules.yml").write_text("rules:\n- rule: r\n  steps:\n  - intent: greet\n  - action: utter_hello\n")
    proc = run_agent("train", str(bot), "--out", str(tmp_path / "models"))
    assert proc.returncode == 1
    assert "data/rules.yml:5" in proc.stderr and "utter_hello" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "models").exists()


def test_missing_base_model_is_a_clear_error(tmp_path, shopbot_dir):
    proc = run_agent("train", str(shopbot_dir), "--out", str(tmp_path), "--base-model", str(tmp_path / "nope"))
    assert proc.returncode == 1
    assert "never downloaded" in proc.stderr and "Traceback" not in proc.stderr


def test_data_validate_reports_every_problem(tmp_path):
    bot = tmp_path / "bad"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text('version: "3.1"\nintents:\n  - greet\nslotz: {}\n')
    (bot / "data" / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n    - hey [Bob](name)\n")
    (bot / "data" / "stories.yml").write_text(
        "stories:\n- story: s\n  steps:\n  - intent: greeet\n  - action: utter_x\n"
    )
    proc = run_agent("data", "validate", str(bot))
    assert proc.returncode == 1
    err = proc.stderr
    assert "domain.yml:4" in err and "slotz" in err
    assert "nlu.yml:5" in err and "'name'" in err
    assert "stories.yml:4" in err and "greeet" in err and "did you mean 'greet'" in err
    assert "stories.yml:5" in err and "utter_x" in err


def test_data_validate_yaml_syntax_error_shows_line_and_column(tmp_path):
    bot = tmp_path / "bad"
    bot.mkdir()
    (bot / "domain.yml").write_text("intents:\n  - greet\nresponses:\n  utter_greet:\n    - text: a: b\n")
    proc = run_agent("data", "validate", str(bot))
    assert proc.returncode == 1
    assert "domain.yml:5:14" in proc.stderr and "- text: a: b" in proc.stderr


SHOP_TESTS = """
stories:
- story: greet and ask
  steps:
  - user: |
      hello
    intent: greet
  - action: utter_greet
  - intent: order_status
    entities:
    - order_id: ORD-1
  - action: utter_order_status
- story: wrong on purpose
  steps:
  - intent: goodbye
  - action: utter_greet
"""


def test_agent_test_writes_rasa_reports_and_annotates_failures(trained_shopbot, tmp_path):
    stories = tmp_path / "tests.yml"
    stories.write_text(SHOP_TESTS)
    out = tmp_path / "results"
    proc = run_agent(
        "test",
        "core",
        str(trained_shopbot.bot.root),
        "--model",
        str(trained_shopbot.path),
        "--stories",
        str(stories),
        "--out",
        str(out),
        "--fail-on-prediction-errors",
    )
    assert proc.returncode == 1, proc.stderr  # one story fails on purpose
    import json

    report = json.loads((out / "story_report.json").read_text())
    assert report["conversation_accuracy"] == {"accuracy": 0.5, "correct": 1, "with_warnings": 0, "total": 2}
    assert report["utter_goodbye"]["support"] == 0 and report["utter_greet"]["support"] == 2
    failed = (out / "failed_test_stories.yml").read_text()
    assert "wrong on purpose" in failed and "greet and ask" not in failed
    assert "- action: utter_greet  # predicted: utter_goodbye" in failed
    assert (out / "story_confusion_matrix.png").stat().st_size > 1000
    assert "1 / 2" in proc.stderr


def test_agent_test_e2e_passes_the_shop_conversations(trained_shopbot, tmp_path):
    stories = tmp_path / "tests.yml"
    stories.write_text(SHOP_TESTS.split("- story: wrong on purpose")[0])
    proc = run_agent(
        "test",
        str(trained_shopbot.bot.root),
        "--model",
        str(trained_shopbot.path),
        "--stories",
        str(stories),
        "--out",
        str(tmp_path / "r"),
        "--fail-on-prediction-errors",
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 / 1" in proc.stderr and "intent accuracy" in proc.stderr


def test_agent_test_nlu_writes_rasa_reports(trained_shopbot, tmp_path):
    import json

    data = tmp_path / "held_out.jsonl"
    rows = [
        {"text": "hello", "intent": "greet"},
        {
            "text": "where is my order ORD-1",
            "intent": "order_status",
            "entities": [{"start": 18, "end": 23, "value": "ORD-1", "entity": "order_id"}],
        },
        {"text": "bye", "intent": "goodbye"},
        {"text": "hello", "intent": "talk_to_human"},
    ]  # deliberately mislabelled: one sure error
    data.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "nlu"
    proc = run_agent("test", "nlu", "--data", str(data), "--model", str(trained_shopbot.path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "intent_report.json").read_text())
    assert report["greet"]["support"] == 1 and report["talk_to_human"]["support"] == 1
    assert report["talk_to_human"]["recall"] == 0.0
    errors = json.loads((out / "intent_errors.json").read_text())
    assert {"text": "hello", "intent": "talk_to_human"}.items() <= errors[0].items()
    assert errors[0]["intent_prediction"]["name"] == "greet"
    regex = json.loads((out / "RegexEntityExtractor_report.json").read_text())
    assert regex["order_id"] == {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 1}
    for png in ("intent_confusion_matrix.png", "intent_histogram.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    assert "0.750 of 4" in proc.stderr


def test_agent_test_nlu_cross_validation(shopbot_dir, tiny_bert, tmp_path):
    import json
    import shutil

    bot = tmp_path / "shopbot"
    shutil.copytree(shopbot_dir, bot)
    config = (bot / "config.yml").read_text()
    (bot / "config.yml").write_text(
        f"base_model: {tiny_bert}\n"
        + config.replace(
            "  - name: DIETClassifier\n    epochs: 100\n", "  - name: BertIntentClassifier\n    epochs: 2\n"
        )
    )
    out = tmp_path / "cv"
    proc = run_agent("test", "nlu", str(bot), "--cross-validation", "--folds", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "intent_report.json").read_text())
    # every example was tested exactly once, by a model that had not seen it
    assert report["macro avg"]["support"] == 32
    assert "fold 2/2" in proc.stderr


def test_agent_test_nlu_bad_jsonl_names_the_line(tmp_path, trained_shopbot):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "intent": "greet"}\n{"text": "no intent"}\n')
    proc = run_agent("test", "nlu", "--data", str(data), "--model", str(trained_shopbot.path))
    assert proc.returncode == 1
    assert "bad.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr


def test_agent_test_nlu_with_out_of_scope_rows_draws_the_threshold_curve(trained_shopbot, tmp_path):
    import json

    data = tmp_path / "oos.jsonl"
    rows = [
        {"text": "hello", "intent": "greet"},
        {"text": "bye", "intent": "goodbye"},
        {"text": "what is the capital of peru", "intent": "out_of_scope"},
        {"text": "sing me a song about llamas", "intent": "out_of_scope"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows))
    out = tmp_path / "nlu"
    proc = run_agent("test", "nlu", "--data", str(data), "--model", str(trained_shopbot.path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "oos_threshold_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "out-of-scope recall" in proc.stderr and "of 2" in proc.stderr
    assert "expected calibration error" in proc.stderr


def test_agent_test_nlu_without_out_of_scope_rows_draws_no_curve(trained_shopbot, tmp_path):
    import json

    data = tmp_path / "in.jsonl"
    data.write_text(
        "\n".join(json.dumps(r) for r in [{"text": "hello", "intent": "greet"}, {"text": "bye", "intent": "goodbye"}])
    )
    out = tmp_path / "nlu"
    proc = run_agent("test", "nlu", "--data", str(data), "--model", str(trained_shopbot.path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert not (out / "oos_threshold_curve.png").exists() and (out / "intent_report.json").is_file()
