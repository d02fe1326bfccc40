"""Train the fixture bot end to end on a tiny encoder, then serve it from the artifact alone."""

from __future__ import annotations

import asyncio
import json
import shutil
import tarfile

import pytest

from agent.core.events import ActionExecuted, UserUttered
from agent.errors import AgentError
from agent.model.artifact import latest_model, open_artifact
from agent.runtime import Agent


def test_artifact_holds_everything_needed_to_serve(trained_shopbot):
    path = trained_shopbot.path
    assert path.name.startswith("shopbot-") and path.name.endswith(".tar.gz")
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
    for required in (
        "manifest.json",
        "domain.json",
        "config.json",
        "core/policies.json",
        "metrics.json",
        "core/RulePolicy/policy.json",
        "core/MemoizationPolicy/policy.json",
        "nlu/model.safetensors",
        "nlu/intent_model.json",
        "nlu/encoder/config.json",
    ):
        assert required in names, required
    with tarfile.open(path) as tar:
        index = json.load(tar.extractfile("core/policies.json"))
        parts = json.load(tar.extractfile("parts.json"))
    assert parts == ["nlu", "faq", "core"]  # the fixture bot's retrieval intents make an FAQ part
    assert index["policies"][:2] == ["RulePolicy", "MemoizationPolicy"]
    served = Agent.load(path).processor.policies.policies
    assert [p.name for p in served] == [
        n for n in index["policies"] if n != "TEDPolicy" or "core/TEDPolicy/weights.safetensors" in names
    ]
    assert any(n.startswith("nlu/tokenizer/") for n in names)
    manifest = open_artifact(path).manifest
    assert len(manifest["training_data_sha256"]) == 64
    assert {"torch", "transformers", "agent", "python"} <= set(manifest["versions"])
    assert "faq/shipping_cost" in manifest["intents"] and "greet" in manifest["intents"]


def test_model_predicts_its_training_phrases_after_reload(trained_shopbot, tmp_path):
    # the bot's sources are gone: the artifact alone must serve
    moved = tmp_path / trained_shopbot.path.name
    shutil.copy(trained_shopbot.path, moved)
    shutil.rmtree(trained_shopbot.bot.root)
    agent = Agent.load(moved)
    examples = [(e.text, e.parent_intent) for e in trained_shopbot.bot.nlu.examples]
    correct = sum(agent.interpreter.parse(text)["intent"]["name"] == intent for text, intent in examples)
    assert correct / len(examples) >= 0.9, f"{correct}/{len(examples)}"


def test_training_is_reproducible(trained_shopbot, shopbot_dir, tiny_bert, tmp_path):
    from agent.train import train_bot

    again = train_bot(shopbot_dir, tmp_path, base_model=str(tiny_bert), max_epochs=1)
    first = train_bot(shopbot_dir, tmp_path, base_model=str(tiny_bert), max_epochs=1, fixed_name="b")
    a = Agent.load(again.path).interpreter.parse("where is my parcel")["intent_ranking"]
    b = Agent.load(first.path).interpreter.parse("where is my parcel")["intent_ranking"]
    assert [r["name"] for r in a] == [r["name"] for r in b]
    assert a[0]["confidence"] == pytest.approx(b[0]["confidence"], abs=1e-6)


def _chat(agent: Agent, texts: list[str], sender: str = "u1"):
    async def go():
        return [await agent.handle_text(t, sender) for t in texts]

    return asyncio.run(go())


def test_rules_answer_and_payloads_bypass_nlu(trained_shopbot):
    agent = Agent.load(trained_shopbot.path, seed=0)
    greet, order, human = _chat(agent, ["hello", '/order_status{"order_id": "ORD-1"}', "/talk_to_human"])
    assert greet.messages[0]["text"] == "Hello! How can I help?"
    assert [b["payload"] for b in greet.messages[0]["buttons"]] == ["/order_status", "/talk_to_human"]
    # the payload set the entity, the from_entity mapping filled the slot, the condition picked the variation
    assert order.messages[0]["text"] == "Order ORD-1 is on its way."
    assert order.slots["order_id"] == "ORD-1"
    user = next(e for e in order.events if isinstance(e, UserUttered))
    assert user.parse_data["intent"] == {"name": "order_status", "confidence": 1.0}
    assert human.messages[0]["text"] == "I am connecting you to a colleague."


def test_retrieval_intent_answers_with_the_sub_intent_response(trained_shopbot):
    agent = Agent.load(trained_shopbot.path)
    (turn,) = _chat(agent, ["how much is shipping"])
    user = next(e for e in turn.events if isinstance(e, UserUttered))
    assert user.parse_data["intent"]["name"] == "faq"
    assert user.parse_data["response_selector"]["faq"]["response"]["intent_response_key"] == "faq/shipping_cost"
    assert turn.messages[0]["text"] == "Shipping is free above 50 euros."


def test_nlu_fallback_rule_and_core_fallback(trained_shopbot):
    agent = Agent.load(trained_shopbot.path)
    agent.interpreter.fallback.threshold = 1.01  # every message falls back
    (turn,) = _chat(agent, ["hello"])
    user = next(e for e in turn.events if isinstance(e, UserUttered))
    assert user.parse_data["intent"]["name"] == "nlu_fallback"
    assert turn.messages[0]["text"] == "Sorry, I did not understand that."
    # an intent no rule covers goes to the core fallback action
    (turn,) = _chat(agent, ["/faq_unknown"], sender="u2")
    actions = [e.name for e in turn.events if isinstance(e, ActionExecuted)]
    assert "action_default_fallback" in actions


def test_session_start_and_restart(trained_shopbot):
    agent = Agent.load(trained_shopbot.path)
    first, restart = _chat(agent, ["hello", "/restart"])
    names = [e.name for e in first.events if isinstance(e, ActionExecuted)]
    assert names[:2] == ["action_session_start", "action_listen"]
    assert [e.name for e in restart.events if isinstance(e, ActionExecuted)][0] == "action_restart"


def test_latest_model_picks_newest_and_errors_clearly(trained_shopbot, tmp_path):
    assert latest_model(trained_shopbot.path.parent).name.endswith(".tar.gz")
    with pytest.raises(AgentError, match="agent train"):
        latest_model(tmp_path / "nothing")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(AgentError, match="not a readable model archive"):
        open_artifact(broken)


def test_metrics_report_validation_split(trained_shopbot):
    metrics = json.loads((open_artifact(trained_shopbot.path).folder / "metrics.json").read_text())
    negatives = metrics["negatives"]  # the shipped out-of-scope negatives, trained and held out
    assert negatives["trained"] > 0
    assert metrics["train_size"] + metrics["val_size"] == (
        len(trained_shopbot.bot.nlu.examples) + negatives["trained"] + negatives["held_out"]
    )
    assert metrics["history"], "at least one epoch ran"


def test_regex_entities_fill_slots_from_typed_text(trained_shopbot):
    agent = Agent.load(trained_shopbot.path, seed=0)
    (turn,) = _chat(agent, ["where is my order ORD-1"])
    user = next(e for e in turn.events if isinstance(e, UserUttered))
    assert user.entities == [
        {"entity": "order_id", "start": 18, "end": 23, "value": "ORD-1", "extractor": "RegexEntityExtractor"}
    ]
    assert turn.slots["order_id"] == "ORD-1"
    assert turn.messages[0]["text"] == "Order ORD-1 is on its way."
