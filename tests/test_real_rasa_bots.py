"""The unchanged Rasa example bots load without errors, with the expected amount of data."""

from __future__ import annotations

import pytest

from agent.bot.project import load_bot, load_test_stories
from agent.bot.stories import UserStep
from tests.helpers.shared import SHARED, requires_shared

EXAMPLES = SHARED / "benchmarks" / "rasa_examples"

pytestmark = requires_shared("benchmarks", "rasa_examples")


@pytest.fixture(scope="module")
def bots():
    return {
        name: load_bot(EXAMPLES / name, strict=True) for name in ("moodbot", "financial-demo", "helpdesk-assistant")
    }


@pytest.mark.parametrize("name", ["moodbot", "financial-demo", "helpdesk-assistant"])
def test_loads_with_zero_errors(bots, name):
    bot = bots[name]
    assert bot.problems.errors == []
    assert bot.name == name
    # every step of every story and rule refers to something the domain declares
    for block in [*bot.stories, *bot.rules]:
        for step in block.steps:
            if isinstance(step, UserStep) and step.intent:
                assert bot.domain.knows_intent(step.intent), (block.name, step.intent)


def test_moodbot_counts(bots):
    bot = bots["moodbot"]
    assert len(bot.nlu.examples) == 68
    assert len(bot.nlu.intents()) == 7
    assert len(bot.domain.intents) == 7
    assert len(bot.stories) == 3
    assert len(bot.rules) == 2
    assert bot.domain.forms == {}


def test_financial_demo_counts(bots):
    bot = bots["financial-demo"]
    assert len(bot.nlu.examples) == 578
    assert len(bot.nlu.intents()) == 17
    assert len(bot.domain.intents) == 22
    assert len(bot.domain.forms) == 3
    assert set(bot.domain.forms) >= {"cc_payment_form"}
    assert bot.domain.forms["cc_payment_form"].required_slots[0] == "AA_CONTINUE_FORM"
    # Duckling maps to the built-in extractors; the spaCy NER model is skipped with a warning, never an error
    assert bot.config.builtin_entities == ["amount-of-money", "number", "time"]
    assert any(w.code == "W406" for w in bot.problems.warnings)  # SpacyEntityExtractor
    assert bot.stories and bot.rules


def test_helpdesk_assistant_counts(bots):
    bot = bots["helpdesk-assistant"]
    assert len(bot.nlu.examples) == 452
    assert len(bot.nlu.intents()) == 14
    assert len(bot.domain.forms) == 2
    assert bot.stories and bot.rules


@pytest.mark.parametrize("name,count", [("moodbot", 7), ("financial-demo", 48), ("helpdesk-assistant", 12)])
def test_test_stories_load(name, count):
    blocks = load_test_stories(EXAMPLES / name / "tests")
    assert len(blocks) == count
    user_steps = [s for b in blocks for s in b.steps if isinstance(s, UserStep)]
    assert user_steps
    # Rasa test stories give the user's text together with the expected intent
    assert all(s.intent for s in user_steps)
    assert any(s.text for s in user_steps)
