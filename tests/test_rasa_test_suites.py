"""Dialogue semantics proven on peers' own test stories: `agent test core` must pass them all.

Core mode gives the stories' intents to the policies, so a tiny random encoder is enough here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.bot.project import load_bot, load_test_stories
from agent.evaluation.stories import evaluate_stories
from agent.runtime import Agent
from agent.train import train_bot
from tests.helpers.shared import SHARED, requires_shared
from tests.helpers.tiny_model import make_tiny_bert

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = SHARED / "benchmarks" / "rasa_examples"

SHARED_BOT = requires_shared("benchmarks", "rasa_examples")
SUITES = [
    pytest.param("moodbot", EXAMPLES / "moodbot", EXAMPLES / "moodbot" / "tests", 7, marks=SHARED_BOT),
    pytest.param(
        "financial-demo", EXAMPLES / "financial-demo", EXAMPLES / "financial-demo" / "tests", 48, marks=SHARED_BOT
    ),
    pytest.param(
        "helpdesk-assistant",
        EXAMPLES / "helpdesk-assistant",
        EXAMPLES / "helpdesk-assistant" / "tests",
        12,
        marks=SHARED_BOT,
    ),
    pytest.param("ecommerce", REPO / "domains" / "ecommerce", REPO / "stories" / "ecommerce", 10),
]


@pytest.mark.parametrize("name,bot_dir,stories_dir,at_least", SUITES, ids=[s.values[0] for s in SUITES])
def test_all_test_stories_pass_in_core_mode(name, bot_dir, stories_dir, at_least, tmp_path):
    bot = load_bot(bot_dir)
    encoder = make_tiny_bert(tmp_path / "enc", [e.text for e in bot.nlu.examples])
    outcome = train_bot(bot_dir, tmp_path, base_model=str(encoder), max_epochs=1)
    agent = Agent.load(outcome.path)
    stories = load_test_stories(stories_dir)
    assert len(stories) >= at_least

    async def run():
        return await evaluate_stories(agent, stories, e2e=False)

    results = asyncio.run(run())
    failed = {
        r.story.name: [(s.expected, s.predicted) for s in r.steps if not s.correct] for r in results if not r.passed
    }
    assert failed == {}
    assert sum(len(r.steps) for r in results) > len(stories)  # actions really were predicted
