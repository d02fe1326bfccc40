"""Frustration across the conversation: per-message signals (profanity, shouting, asking for a person),
the explainable score, the `sentiment` / `frustration` slots, and the threshold that hands over."""

from __future__ import annotations

import asyncio

import pytest

from agent.bot.config import SentimentConfig
from agent.core.events import UserUttered
from agent.core.frustration import frustration
from agent.core.processor import UserMessage
from agent.nlu.payload import parse_payload
from agent.nlu.sentiment.signals import asks_for_human, profanity, shouting
from tests.helpers.rule_bot import rule_processor
from tests.test_handoff_state import DOMAIN, RULES

MOODY_DOMAIN = (
    DOMAIN
    + """slots:
  sentiment:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
  frustration:
    type: float
    influence_conversation: false
    mappings: [{type: custom}]
"""
)


def said(text: str, negative: float = 0.1, intent: str = "complain", **signals) -> UserUttered:
    """A parsed message as the NLU gives it: an intent, and a sentiment with its signals."""
    flags = {"profanity": False, "shouting": False, "asks_for_human": False, **signals}
    rest = (1 - negative) / 2
    scores = {"negative": negative, "neutral": rest, "positive": rest}
    label = max(scores, key=scores.get)
    sentiment = {"label": label, "scores": scores, "signals": flags}
    return UserUttered(text, {"intent": {"name": intent, "confidence": 1.0}, "sentiment": sentiment})


@pytest.mark.parametrize(
    "text, swears",
    [
        ("this is fucking ridiculous", True),
        ("what the hell", True),
        ("我靠，又没到", True),
        ("垃圾客服", True),
        ("hello there", False),
        ("I'm an idiot, I ordered the wrong size", False),
        ("这个垃圾桶有盖子吗", False),  # a bin the shop sells
        ("这款质量靠谱吗", False),
    ],
)
def test_profanity_in_english_and_chinese(text, swears):
    assert profanity(text) is swears


@pytest.mark.parametrize(
    "text, loud",
    [
        ("WHERE IS MY ORDER", True),
        ("my order ORD-123456 is late", False),  # an order number is not shouting
        ("DHL lost it", False),
        ("到底什么时候发货！！！", True),
        ("where is it!!!", True),
    ],
)
def test_shouting(text, loud):
    assert shouting(text) is loud


@pytest.mark.parametrize(
    "text, wants",
    [
        ("let me talk to a real person", True),
        ("get me an agent", True),
        ("转人工", True),
        ("where is my parcel", False),
    ],
)
def test_asking_for_a_person(text, wants):
    assert asks_for_human(text) is wants


def test_a_calm_complaint_stays_low_and_a_furious_one_crosses():
    calm = frustration([said("the box was a bit dented", negative=0.55, intent="complaint")])
    furious = frustration([said("this is fucking useless", negative=0.95, profanity=True)])
    assert calm.score < 0.5 and furious.score >= 0.7
    assert set(furious.evidence) == {"negative", "profanity"}  # the score says why


def test_old_anger_fades_and_repeating_a_request_counts():
    angry_then_calm = [said("useless!!!", negative=0.9, shouting=True)] + [
        said("ok", negative=0.05, intent="affirm")
    ] * 3
    assert frustration(angry_then_calm).score < 0.3  # out of the window
    again = frustration([said("where is my order", intent="order_status")] * 3)
    assert again.evidence == {"repeated": 0.6}  # asked three times in a row: two repeats
    assert frustration([said("is this in stock", intent="faq")] * 3).evidence == {}  # different FAQ questions


def _processor(tmp_path, threshold=0.7, action="action_handoff"):
    def parse(text):
        data = parse_payload(text.split(" [")[0]) or {}
        if text.endswith("[furious]"):
            data["sentiment"] = said("", negative=0.95, profanity=True).parse_data["sentiment"]
        elif text.endswith("[calm]"):
            data["sentiment"] = said("", negative=0.05).parse_data["sentiment"]
        return data

    processor = rule_processor(tmp_path / "bot", MOODY_DOMAIN, RULES, parse=parse)
    processor.sentiment = SentimentConfig(enabled=True, frustration_threshold=threshold, frustration_action=action)
    return processor


def _say(processor, *texts):
    async def go():
        return [await processor.handle_message(UserMessage(t, "c1")) for t in texts]

    return asyncio.run(go())


def test_the_slots_carry_sentiment_and_frustration_with_its_evidence(tmp_path):
    (calm,) = _say(_processor(tmp_path, threshold=None), "/greet [calm]")
    assert calm.slots["sentiment"] == "neutral" and calm.slots["frustration"] < 0.1
    (angry,) = _say(_processor(tmp_path / "2", threshold=None), "/complain [furious]")
    slot = next(e for e in angry.events if getattr(e, "name", None) == "frustration")
    assert slot.value >= 0.7 and set(slot.metadata["evidence"]) == {"negative", "profanity"}
    assert angry.handoff["status"] == "bot"  # no threshold: the score is there, nothing acts on it


def test_crossing_the_threshold_hands_over_once(tmp_path):
    calm, furious, still = _say(_processor(tmp_path), "/greet [calm]", "/complain [furious]", "/complain [furious]")
    assert calm.handoff["status"] == "bot"
    assert furious.handoff["status"] == "queued" and furious.handoff["reason"] == "frustration"
    assert [m["text"] for m in furious.messages] == ["A person will join shortly."]
    assert still.messages == []  # a person has it now


def test_the_frustration_action_can_be_any_action(tmp_path):
    _, turn = _say(_processor(tmp_path, action="utter_sorry"), "/greet [calm]", "/complain [furious]")
    assert [m["text"] for m in turn.messages] == ["Sorry about that."] and turn.handoff["status"] == "bot"


def test_an_opening_complaint_is_answered_not_handed_over(tmp_path):
    (turn,) = _say(_processor(tmp_path), "/complain [furious]")
    assert turn.handoff["status"] == "bot" and turn.slots["frustration"] >= 0.7  # the score is there all the same


def test_a_frustration_threshold_outside_0_1_is_an_error_at_its_line(tmp_path):
    from agent.bot.config import parse_config
    from agent.bot.schema import Reader
    from agent.bot.yaml_source import parse_yaml
    from agent.errors import Problems

    text = "pipeline:\n  - name: SentimentAnalyzer\n    frustration_threshold: 7\n"
    problems = Problems()
    parse_config(parse_yaml(text, "config.yml"), Reader("config.yml", problems))
    assert [(p.code, p.line) for p in problems.errors] == [("E405", 3)]


def test_the_shell_debug_view_shows_sentiment_signals_and_frustration(tmp_path):
    from types import SimpleNamespace

    from rich.console import Console

    from agent.cli.shell import Shell

    processor = _processor(tmp_path, threshold=None)

    async def handle_text(text, sender_id="default", channel=None):
        return await processor.handle_message(UserMessage(text, sender_id, channel))

    console = Console(record=True, width=300)
    shell = Shell(SimpleNamespace(handle_text=handle_text), console, debug=True, sender="me")
    asyncio.run(shell.send("/complain [furious]"))
    out = console.export_text()
    assert "sentiment: negative (negative 0.95" in out and "signals: profanity" in out
    assert "frustration 0.8" in out and "(negative 0.93, profanity 1.00)" in out


@pytest.mark.parametrize(
    "text, angry",
    [
        ("this is absolutely ridiculous", True),
        ("受够了，到底能不能解决", True),
        ("the parcel is late", False),
        ("快递有点慢", False),
    ],
)
def test_anger_words_beyond_plain_negative_ones(text, angry):
    from agent.nlu.sentiment.signals import anger

    assert anger(text) is angry


def test_an_e2e_test_story_asserts_how_the_customer_sounded(tmp_path):
    from types import SimpleNamespace

    from agent.bot.project import load_test_stories
    from agent.evaluation.reports import story_report
    from agent.evaluation.stories import evaluate_stories

    processor = _processor(tmp_path, threshold=None)

    def parse(text):
        negative = 0.95 if "useless" in text else 0.05
        return {**said(text, negative=negative).parse_data, "text": text}

    agent = SimpleNamespace(domain=processor.domain, processor=processor, interpreter=SimpleNamespace(parse=parse))
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_stories.yml").write_text(
        """
version: "3.1"
stories:
- story: an angry customer is heard as one
  steps:
  - user: this is useless
    intent: complain
  - slot_was_set:
    - sentiment: negative
  - action: utter_sorry
- story: a calm one is not
  steps:
  - user: thanks, all good
    intent: complain
  - slot_was_set:
    - sentiment: negative
  - action: utter_sorry
"""
    )
    heard, misheard = asyncio.run(evaluate_stories(agent, load_test_stories(tmp_path / "tests"), e2e=True))
    assert heard.passed and not misheard.passed, [heard.steps, misheard.steps]
    assert story_report([heard, misheard])["sentiment_accuracy"] == {"accuracy": 0.5, "total": 2}


def test_a_misheard_sentiment_is_marked_in_the_failed_stories(tmp_path):
    from agent.bot.stories import SlotStep, UserStep
    from agent.core.training_data import StoryPath
    from agent.evaluation.reports import annotated_stories
    from agent.evaluation.stories import StepResult, StoryResult

    story = StoryPath(
        "story", "s", (UserStep("complain", text="this is fine", line=3), SlotStep({"sentiment": "negative"}, 5))
    )
    result = StoryResult(story, [StepResult("slot", "sentiment: negative", "sentiment: neutral", 5)])
    assert '- {"sentiment": "negative"}  # predicted: sentiment: neutral' in annotated_stories([result])
