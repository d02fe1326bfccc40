"""The story compiler: `or` expansion, checkpoints joined as Rasa joins them, and training turns that
are exactly the turns a live conversation builds."""

from __future__ import annotations

import asyncio
import random

import pytest

from agent.bot.project import load_bot
from agent.core.actions.registry import ActionRegistry
from agent.core.nlg import ResponseGenerator
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.policies.learned import LearnedPolicy
from agent.core.policies.memoization import MemoizationPolicy
from agent.core.policies.rule import RulePolicy
from agent.core.processor import MessageProcessor, UserMessage
from agent.core.training_data import TrainingData, replay_steps, story_paths
from agent.evaluation.stories import paths_to_test
from agent.nlu.payload import parse_payload
from agent.stores.base import InMemoryTrackerStore
from tests.helpers.bot_factory import write_bot
from tests.helpers.fakes import as_parser

DOMAIN = """
version: "3.1"
intents: [greet, pay_bill, thankyou, affirm, receipt, check_balance, what_now, a, b]
entities: [overdrawn]
slots:
  overdrawn:
    type: bool
    influence_conversation: true
    mappings: [{type: from_entity, entity: overdrawn}]
responses:
  utter_greet: [{text: "Hi!"}]
  utter_paid: [{text: "Paid."}]
  utter_noworries: [{text: "No worries."}]
  utter_receipt: [{text: "Receipt sent."}]
  utter_balance: [{text: "Your balance."}]
  utter_overdraft_help: [{text: "Let's fix your overdraft."}]
  utter_all_good: [{text: "All good."}]
  utter_a: [{text: "A"}]
  utter_b: [{text: "B"}]
"""

STORIES = """
version: "3.1"
stories:
- story: pay bill
  steps:
  - intent: pay_bill
  - action: utter_paid
  - checkpoint: after_payment
- story: thanks after payment
  steps:
  - checkpoint: after_payment
  - or:
    - intent: thankyou
    - intent: affirm
  - action: utter_noworries
- story: receipt after payment
  steps:
  - checkpoint: after_payment
  - intent: receipt
  - action: utter_receipt
"""

CONDITIONED = """
version: "3.1"
stories:
- story: overdrawn
  steps:
  - intent: check_balance
  - action: utter_balance
  - slot_was_set:
    - overdrawn: true
  - checkpoint: balance_told
- story: in credit
  steps:
  - intent: check_balance
  - action: utter_balance
  - slot_was_set:
    - overdrawn: false
  - checkpoint: balance_told
- story: overdraft help
  steps:
  - checkpoint: balance_told
    slot_was_set:
    - overdrawn: true
  - intent: what_now
  - action: utter_overdraft_help
- story: nothing to do
  steps:
  - checkpoint: balance_told
    slot_was_set:
    - overdrawn: false
  - intent: what_now
  - action: utter_all_good
"""

CYCLE = """
version: "3.1"
stories:
- story: start
  steps:
  - intent: greet
  - action: utter_greet
  - checkpoint: c1
- story: a then b
  steps:
  - checkpoint: c1
  - intent: a
  - action: utter_a
  - checkpoint: c2
  - intent: b
  - action: utter_b
  - checkpoint: c1
"""


def _bot(tmp_path, stories):
    return load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu=None, stories=stories))


def _names(path) -> list[str]:
    return [
        getattr(s, "intent", None) or getattr(s, "action", None)
        for s in path.steps
        if getattr(s, "intent", None) or getattr(s, "action", None)
    ]


def test_checkpoints_join_into_whole_conversations(tmp_path):
    paths = story_paths(_bot(tmp_path, STORIES).stories)
    assert sorted(_names(p) for p in paths) == [
        ["pay_bill", "utter_paid", "affirm", "utter_noworries"],
        ["pay_bill", "utter_paid", "receipt", "utter_receipt"],
        ["pay_bill", "utter_paid", "thankyou", "utter_noworries"],
    ]
    assert all(p.from_start for p in paths)
    assert {p.name for p in paths} == {"pay bill > thanks after payment", "pay bill > receipt after payment"}


def test_checkpoint_slot_conditions_choose_the_continuation(tmp_path):
    paths = story_paths(_bot(tmp_path, CONDITIONED).stories)
    ends = sorted((p.steps[2].slots["overdrawn"], _names(p)[-1]) for p in paths)
    assert ends == [(False, "utter_all_good"), (True, "utter_overdraft_help")]


def test_a_checkpoint_cycle_ends_and_a_middle_checkpoint_splits(tmp_path):
    paths = story_paths(_bot(tmp_path, CYCLE).stories)
    assert [_names(p) for p in paths] == [["greet", "utter_greet", "a", "utter_a", "b", "utter_b"]]


def test_a_start_checkpoint_no_story_reaches_is_a_fragment(tmp_path):
    stories = STORIES.replace("  - checkpoint: after_payment\n- story: thanks", "- story: thanks")
    paths = story_paths(_bot(tmp_path, stories).stories)
    assert sorted(_names(p) for p in paths if not p.from_start) == [
        ["affirm", "utter_noworries"],
        ["receipt", "utter_receipt"],
        ["thankyou", "utter_noworries"],
    ]
    assert [_names(p) for p in paths if p.from_start] == [["pay_bill", "utter_paid"]]


def test_training_turns_are_the_turns_a_live_conversation_builds(tmp_path):
    bot = _bot(tmp_path, STORIES)
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    processor = _processor(bot, data, [MemoizationPolicy(max_history=5)])
    for story in data.stories:
        sender = story.path.name + str(_names(story.path))
        tracker = _chat(processor, [f"/{s.intent}" for s in story.path.steps if getattr(s, "intent", None)], sender)
        assert tracker.state.turns.items == story.turns.items
        assert [v.slots for v in tracker.state.turns.states] == [v.slots for v in story.turns.states]


def test_memoization_predicts_the_joined_path_and_not_the_fragment_alone(tmp_path):
    bot = _bot(tmp_path, STORIES)
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    processor = _processor(bot, data, [MemoizationPolicy(max_history=5)])
    assert _bot_said(processor, ["/pay_bill", "/affirm"], "joined") == ["Paid.", "No worries."]
    # the continuation belongs after a payment: at the start of a conversation no story says it
    assert "No worries." not in _bot_said(processor, ["/affirm"], "alone")


SLOTTED = """
version: "3.1"
stories:
- story: overdrawn
  steps:
  - intent: check_balance
    entities:
    - overdrawn: true
  - slot_was_set:
    - overdrawn: true
  - action: utter_balance
  - intent: what_now
  - action: utter_overdraft_help
- story: in credit
  steps:
  - intent: check_balance
    entities:
    - overdrawn: false
  - slot_was_set:
    - overdrawn: false
  - action: utter_balance
  - intent: what_now
  - action: utter_all_good
"""


def test_memoization_remembers_stories_that_differ_only_by_a_slot_apart(tmp_path):
    bot = _bot(tmp_path, SLOTTED)
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    processor = _processor(bot, data, [MemoizationPolicy(max_history=5)])
    overdrawn = _bot_said(processor, ['/check_balance{"overdrawn": true}', "/what_now"], "red")
    in_credit = _bot_said(processor, ['/check_balance{"overdrawn": false}', "/what_now"], "black")
    assert overdrawn == ["Your balance.", "Let's fix your overdraft."]
    assert in_credit == ["Your balance.", "All good."]


def test_the_learned_policy_learns_every_or_alternative(tmp_path):
    bot = _bot(tmp_path, STORIES)
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    policy = LearnedPolicy(max_history=5, epochs=80)
    policy.train(data)
    processor = _processor(bot, data, [policy])
    for answer in ("/thankyou", "/affirm"):
        assert _bot_said(processor, ["/pay_bill", answer], answer) == ["Paid.", "No worries."]


def test_agent_test_runs_each_or_alternative_as_a_conversation(tmp_path):
    blocks = _bot(tmp_path, STORIES).stories
    assert len(paths_to_test(blocks)) == 3


@pytest.mark.parametrize("stories", [STORIES, CONDITIONED, CYCLE])
def test_replay_ends_every_story_with_a_listen(tmp_path, stories):
    bot = _bot(tmp_path, stories)
    for path in story_paths(bot.stories):
        story = replay_steps(path, bot.domain)
        assert story.final_listen and story.turns.items[-1] == ("action", "action_listen")


def _processor(bot, data, policies):
    rule = RulePolicy()
    rule.train(data)
    for p in policies:
        p.train(data)
    ensemble = PolicyEnsemble([rule, *policies], bot.config.policy)
    return MessageProcessor(
        bot.domain,
        as_parser(lambda text: parse_payload(text) or {}),
        ensemble,
        InMemoryTrackerStore(),
        ResponseGenerator(bot.domain, random.Random(0)),
        ActionRegistry(bot.domain),
    )


def _chat(processor, texts, sender):
    async def go():
        for t in texts:
            await processor.handle_message(UserMessage(t, sender))
        return await processor.store.get_or_create(sender, processor.domain)

    return asyncio.run(go())


def _bot_said(processor, texts, sender) -> list[str]:
    async def go():
        said = []
        for t in texts:
            turn = await processor.handle_message(UserMessage(t, sender))
            said += [m["text"] for m in turn.messages]
        return said

    return asyncio.run(go())


CONFLICTING = """
version: "3.1"
stories:
- story: pay then thank
  steps:
  - intent: pay_bill
  - action: utter_paid
  - intent: thankyou
  - action: utter_noworries
- story: pay then receipt
  steps:
  - intent: pay_bill
  - action: utter_paid
  - intent: thankyou
  - action: utter_receipt
- story: a story may stop where another goes on
  steps:
  - intent: pay_bill
  - action: utter_paid
"""


def test_story_structure_conflicts_name_both_stories(tmp_path):
    from agent.core.story_conflicts import story_conflicts

    bot = _bot(tmp_path, CONFLICTING)
    (conflict,) = story_conflicts(TrainingData.compile(bot.stories, bot.rules, bot.domain), max_history=5)
    assert conflict.after == "intent 'thankyou'"
    assert {a: s for a, (s, _, _) in conflict.actions.items()} == {
        "utter_noworries": "pay then thank",
        "utter_receipt": "pay then receipt",
    }
    assert story_conflicts(TrainingData.compile(_bot(tmp_path / "ok", STORIES).stories, [], bot.domain), 5) == []
