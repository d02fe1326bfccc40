"""The learned policy generalises to turn sequences that no story contains."""

from __future__ import annotations

from agent.bot.project import load_bot
from agent.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from agent.core.policies.learned import LearnedPolicy
from agent.core.policies.memoization import MemoizationPolicy
from agent.core.tracker import Tracker
from agent.core.training_data import TrainingData
from tests.helpers.bot_factory import write_bot

DOMAIN = """
version: "3.1"
intents: [greet, ask_hours, ask_price, thanks, inform_member]
entities: [product]
slots:
  member:
    type: bool
    mappings: [{type: from_intent, intent: inform_member, value: true}]
responses:
  utter_greet: [{text: hi}]
  utter_hours: [{text: "9 to 5"}]
  utter_price: [{text: "10 euros"}]
  utter_member_price: [{text: "8 euros for members"}]
  utter_welcome: [{text: "you're welcome"}]
"""
STORIES = """
version: "3.1"
stories:
- story: hours
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_hours
  - action: utter_hours
  - intent: thanks
  - action: utter_welcome
- story: price
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_price
    entities: [{product: mug}]
  - action: utter_price
- story: member price
  steps:
  - intent: greet
  - action: utter_greet
  - intent: inform_member
  - slot_was_set: [{member: true}]
  - action: utter_greet
  - intent: ask_price
  - action: utter_member_price
"""


def _tracker(domain, turns):
    t = Tracker(
        "t",
        domain,
        [ActionExecuted(name="action_session_start"), SessionStarted(), ActionExecuted(name="action_listen")],
    )
    for intent, actions, slots in turns:
        t.append(UserUttered(text=intent, parse_data={"intent": {"name": intent, "confidence": 1.0}, "entities": []}))
        for name, value in slots.items():
            t.append(SlotSet(name=name, value=value))
        for a in actions:
            t.append(ActionExecuted(name=a))
    return t


def test_learned_policy_handles_a_combination_no_story_has(tmp_path):
    bot = load_bot(write_bot(tmp_path / "b", domain=DOMAIN, nlu=None, stories=STORIES))
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    policy, memo = LearnedPolicy(max_history=3, epochs=60), MemoizationPolicy(max_history=3)
    policy.train(data)
    memo.train(data)
    # hours first without a greeting, then price, then thanks: no story has this order
    t = _tracker(
        bot.domain,
        [
            ("ask_hours", ["utter_hours", "action_listen"], {}),
            ("ask_price", ["utter_price", "action_listen"], {}),
            ("thanks", [], {}),
        ],
    )
    assert memo.predict(t, bot.domain) is None  # memorisation has nothing to say here
    prediction = policy.predict(t, bot.domain)
    assert prediction.action == "utter_welcome" and prediction.confidence > 0.5
    # and after answering it waits for the user
    t.append(ActionExecuted(name="utter_welcome"))
    assert policy.predict(t, bot.domain).action == "action_listen"


def test_learned_policy_uses_slots_that_influence_the_conversation(tmp_path):
    bot = load_bot(write_bot(tmp_path / "b", domain=DOMAIN, nlu=None, stories=STORIES))
    policy = LearnedPolicy(max_history=3, epochs=60)
    policy.train(TrainingData.compile(bot.stories, bot.rules, bot.domain))
    # the same turns; only the slot differs (and no story has greet -> ask_price with the slot set)
    member = _tracker(
        bot.domain, [("greet", ["utter_greet", "action_listen"], {}), ("ask_price", [], {"member": True})]
    )
    plain = _tracker(bot.domain, [("greet", ["utter_greet", "action_listen"], {}), ("ask_price", [], {})])
    assert policy.predict(member, bot.domain).action == "utter_member_price"
    assert policy.predict(plain, bot.domain).action == "utter_price"


def test_learned_policy_round_trips_through_files(tmp_path):
    bot = load_bot(write_bot(tmp_path / "b", domain=DOMAIN, nlu=None, stories=STORIES))
    policy = LearnedPolicy(max_history=3, epochs=30)
    policy.train(TrainingData.compile(bot.stories, bot.rules, bot.domain))
    policy.save(tmp_path / "core")
    loaded = LearnedPolicy.load(tmp_path / "core")
    t = _tracker(bot.domain, [("ask_hours", [], {})])
    a, b = policy.predict(t, bot.domain), loaded.predict(t, bot.domain)
    assert a.action == b.action and abs(a.confidence - b.confidence) < 1e-6
