"""The shipped example bot and a real Rasa project, as a user meets them."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from agent.bot.project import load_bot, load_test_stories
from agent.errors import Problems
from tests.helpers.bot_factory import assert_test_conversations_fit
from tests.helpers.shared import requires_shared

REPO = Path(__file__).resolve().parents[1]
MOODBOT = REPO.parent / "shared" / "benchmarks" / "rasa_examples" / "moodbot"


def test_ecommerce_bot_is_valid_and_big_enough():
    problems = Problems()
    bot = load_bot(REPO / "domains" / "ecommerce", problems)
    assert problems.errors == []
    per_intent = Counter(e.parent_intent for e in bot.nlu.examples)
    assert len(per_intent) >= 20
    assert min(per_intent.values()) >= 20, per_intent.most_common()[-1]
    assert "return_form" in bot.domain.forms
    assert bot.domain.forms["return_form"].required_slots == ["order_id", "return_item", "return_reason"]
    assert any(v.buttons for vs in bot.domain.responses.values() for v in vs)
    assert bot.stories and bot.rules


def test_ecommerce_test_conversations_parse_and_match_the_domain():
    bot = load_bot(REPO / "domains" / "ecommerce")
    stories = load_test_stories(REPO / "stories" / "ecommerce")
    assert len(stories) >= 10
    # test phrases must be new to the model
    assert_test_conversations_fit(bot, stories, fold=str.lower)


@requires_shared("benchmarks", "rasa_examples", "moodbot")
def test_moodbot_trains_unchanged_on_the_default_encoder_and_chats(tmp_path):
    """The real default encoder (all-MiniLM-L6-v2, from its wheel) on Rasa's own moodbot."""
    from agent.runtime import Agent
    from agent.train import train_bot

    outcome = train_bot(MOODBOT, tmp_path, max_epochs=1)
    assert "MiniLM" in outcome.result.base_model or "minilm" in outcome.result.base_model.lower()
    agent = Agent.load(outcome.path)

    async def chat(texts):
        return [await agent.handle_text(t, "m") for t in texts]

    turns = asyncio.run(chat(["hello there", "I am very sad", "yes, it helped", "bye"]))
    texts = [[m.get("text") for m in t.messages] for t in turns]
    assert texts[0] == ["Hey! How are you?"]  # from a story, via memoization
    assert texts[1] == ["Here is something to cheer you up:", "Did that help you?"]
    assert texts[2] == ["Great, carry on!"]
    assert texts[3] == ["Bye"]  # from a rule
