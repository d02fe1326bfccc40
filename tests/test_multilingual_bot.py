"""A bot in two languages (`language: [zh, en]`): each message's language is detected, and responses,
FAQ answers and built-in entities follow it."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import pytest

from agent.bot.project import load_bot
from agent.core.actions.registry import ActionRegistry
from agent.core.nlg import ResponseGenerator
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.policies.rule import RulePolicy
from agent.core.processor import MessageProcessor, UserMessage
from agent.core.training_data import TrainingData
from agent.faq.decision import in_language
from agent.nlu.language import detect
from agent.stores.base import InMemoryTrackerStore
from tests.helpers.bot_factory import only_problem, write_bot
from tests.helpers.fakes import as_parser

LANGUAGES = ["zh", "en"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("你好", "zh"),
        ("我想买iPhone", "zh"),
        ("iPhone 15 Pro Max 有货吗", "zh"),
        ("ORD-123456到哪了", "zh"),
        ("where is my order", "en"),
        ("hi, I want to return my 衣服", "en"),
        ("Hallo, wo ist meine Bestellung", "en"),
    ],
)
def test_each_message_gets_the_language_it_is_written_in(text, expected):
    assert detect(text, LANGUAGES) == expected
    assert detect(text, ["en", "zh"]) == expected  # not just the first listed


@pytest.mark.parametrize("text", ["ok", "ORD-123456", "12", "👍"])
def test_a_message_that_cannot_tell_keeps_the_conversation_language(text):
    assert detect(text, LANGUAGES, previous="en") == "en"
    assert detect(text, LANGUAGES, previous="zh") == "zh"
    assert detect(text, LANGUAGES) == "zh"  # else the bot's first language


DOMAIN = """
version: "3.1"
intents: [greet, bye]
responses:
  utter_greet:
    - text: 您好！有什么可以帮您？
      language: zh
    - text: Hello! How can I help?
      language: en
  utter_bye:
    - text: Bye!
"""
RULES = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: bye
  steps:
  - intent: bye
  - action: utter_bye
"""


def parse(text: str) -> dict:
    intent = "bye" if text in ("ok", "bye") else "greet"
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [],
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
    }


@pytest.fixture()
def processor(tmp_path):
    root = write_bot(
        tmp_path / "bot",
        domain=DOMAIN,
        nlu=None,
        rules=RULES,
        config="language: [zh, en]\npolicies:\n  - name: RulePolicy\n",
    )
    bot = load_bot(root)
    rule = RulePolicy()
    rule.train(TrainingData.compile(bot.stories, bot.rules, bot.domain))
    return MessageProcessor(
        bot.domain,
        as_parser(parse, bot.config.languages),
        PolicyEnsemble([rule], bot.config.policy),
        InMemoryTrackerStore(),
        ResponseGenerator(bot.domain, random.Random(0)),
        ActionRegistry(bot.domain),
    )


def chat(processor, texts, sender="u"):
    async def go():
        return [await processor.handle_message(UserMessage(t, sender)) for t in texts]

    return asyncio.run(go())


def test_responses_answer_in_the_language_of_each_message(processor):
    zh, en, zh_again = chat(processor, ["你好呀", "hello there", "您好"])
    assert [m["text"] for m in zh.messages] == ["您好！有什么可以帮您？"]
    assert [m["text"] for m in en.messages] == ["Hello! How can I help?"]
    assert [m["text"] for m in zh_again.messages] == ["您好！有什么可以帮您？"]
    user = next(e for e in en.events if getattr(e, "text", None) == "hello there")
    assert user.parse_data["language"] == "en"


def test_a_response_without_a_variation_in_that_language_still_answers(processor):
    _, bye = chat(processor, ["hello there", "bye"])
    assert [m["text"] for m in bye.messages] == ["Bye!"]


def test_the_config_takes_a_list_of_languages_and_rejects_junk(tmp_path):
    bot = load_bot(write_bot(tmp_path / "a", config="language: [zh, en]\n"))
    assert (bot.config.language, bot.config.languages) == ("zh", ["zh", "en"])
    assert bot.config.intent.base_model == "multilingual-e5-small"
    from agent.errors import BotFileError

    with pytest.raises(BotFileError) as err:
        load_bot(write_bot(tmp_path / "b", config="language: [zh, {x: 1}]\n"))
    assert only_problem(err.value.problems, code="E401").line == 1


@dataclass
class Entry:
    language: str | None


@dataclass
class Match:
    id: str


class Bank:
    entries = {"returns": Entry("zh"), "returns_en": Entry("en"), "hours": Entry(None)}

    def get(self, entry_id: str) -> Entry:
        return self.entries[entry_id]


def test_faq_answers_come_from_entries_in_the_message_language():
    matches = [Match("returns_en"), Match("returns"), Match("hours")]
    assert [m.id for m in in_language(Bank(), matches, "zh")] == ["returns", "hours"]
    assert [m.id for m in in_language(Bank(), matches, "en")] == ["returns_en", "hours"]
    assert [m.id for m in in_language(Bank(), [Match("returns_en")], "zh")] == ["returns_en"]  # better than none
    assert in_language(Bank(), matches, None) == matches


def test_a_message_too_short_to_tell_keeps_the_conversations_language_in_the_nlu(processor):
    """The language is detected once, by the NLU, told the conversation's language so far."""
    zh, ok = chat(processor, ["你好呀", "ok"])
    user = next(e for e in ok.events if getattr(e, "text", None) == "ok")
    assert user.parse_data["language"] == "zh"
    assert [m["text"] for m in ok.messages] == ["Bye!"]  # the only variation there is
