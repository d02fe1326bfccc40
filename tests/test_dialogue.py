"""Dialogue behaviour with a scripted parser (no ML): forms, digressions, rules, memoization, sessions."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from agent.bot.project import load_bot
from agent.core.actions.registry import ActionRegistry
from agent.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from agent.core.nlg import ResponseGenerator
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.policies.memoization import MemoizationPolicy
from agent.core.policies.rule import RulePolicy
from agent.core.processor import MessageProcessor, UserMessage
from agent.core.training_data import TrainingData
from agent.nlu.payload import parse_payload
from agent.stores.base import InMemoryTrackerStore
from tests.helpers.bot_factory import write_bot
from tests.helpers.fakes import as_parser

DOMAIN = """
version: "3.1"
intents: [greet, request_return, inform, delivery_time, stop, check_order, affirm, deny, mood]
entities: [order_id]
slots:
  order_id:
    type: text
    mappings:
      - type: from_entity
        entity: order_id
      - type: from_text
        not_intent: [delivery_time, stop]
        conditions:
          - active_loop: return_form
            requested_slot: order_id
  reason:
    type: text
    mappings:
      - type: from_text
        not_intent: [delivery_time, stop]
        conditions:
          - active_loop: return_form
            requested_slot: reason
  channel_kind:
    type: text
    mappings:
      - type: from_trigger_intent
        intent: request_return
        value: web
  happy:
    type: bool
    influence_conversation: true
    mappings:
      - type: from_intent
        intent: affirm
        value: true
      - type: from_intent
        intent: deny
        value: false
forms:
  return_form:
    ignored_intents: [greet]
    required_slots: [order_id, reason]
responses:
  utter_greet: [{text: "Hello!"}]
  utter_welcome_back: [{text: "Hello again!"}]
  utter_ask_return_form_order_id: [{text: "Which order?"}]
  utter_ask_reason: [{text: "Why are you returning {order_id}?"}]
  utter_submit: [{text: "Return for {order_id} registered: {reason} (via {channel_kind})."}]
  utter_delivery: [{text: "Delivery takes 3 days."}]
  utter_stopped: [{text: "OK, I stopped the return."}]
  utter_order_found: [{text: "Order {order_id} is on its way."}]
  utter_which_order: [{text: "Which order do you mean?"}]
  utter_glad: [{text: "Glad to hear!"}]
  utter_sorry: [{text: "Sorry to hear."}]
  utter_ask_mood: [{text: "How are you?"}]
"""

RULES = """
version: "3.1"
rules:
- rule: two-stage fallback
  steps:
  - intent: nlu_fallback
  - action: action_two_stage_fallback
  - active_loop: action_two_stage_fallback
- rule: first greeting
  conversation_start: true
  steps:
  - intent: greet
  - action: utter_greet
- rule: greeting later
  steps:
  - intent: greet
  - action: utter_welcome_back
- rule: start return
  steps:
  - intent: request_return
  - action: return_form
  - active_loop: return_form
- rule: submit return
  condition:
  - active_loop: return_form
  steps:
  - action: return_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_submit
- rule: delivery question
  steps:
  - intent: delivery_time
  - action: utter_delivery
- rule: stop the form
  condition:
  - active_loop: return_form
  steps:
  - intent: stop
  - action: action_deactivate_loop
  - active_loop: null
  - action: utter_stopped
- rule: order known
  steps:
  - intent: check_order
  - slot_was_set:
    - order_id
  - action: utter_order_found
- rule: order unknown
  condition:
  - slot_was_set:
    - order_id: null
  steps:
  - intent: check_order
  - action: utter_which_order
"""

STORIES = """
version: "3.1"
stories:
- story: mood good
  steps:
  - intent: mood
  - action: utter_ask_mood
  - intent: affirm
  - action: utter_glad
- story: mood bad
  steps:
  - intent: mood
  - action: utter_ask_mood
  - intent: deny
  - action: utter_sorry
- story: a greeting inside a story loses to the rule
  steps:
  - intent: greet
  - action: utter_sorry
"""

INTENTS = {
    "hi": "greet",
    "i want to return something": "request_return",
    "how long is delivery": "delivery_time",
    "stop": "stop",
    "where is my order": "check_order",
    "yes": "affirm",
    "no": "deny",
    "mood?": "mood",
}


def scripted_parse(text: str) -> dict:
    """Known phrases (or their start) get their intent; anything else is `inform`; ORD-... is an entity."""
    payload = parse_payload(text)
    if payload is not None:
        return payload
    words = text.split()
    known = " ".join(w for w in words if not w.startswith("ORD-")).lower()
    intent = INTENTS.get(known, "inform") if known else "inform"
    if text.startswith("hmm"):  # unclear: the fallback classifier's output, with check_order second
        return {
            "text": text,
            "intent": {"name": "nlu_fallback", "confidence": 0.3},
            "intent_ranking": [
                {"name": "nlu_fallback", "confidence": 0.3},
                {"name": "check_order", "confidence": 0.25},
            ],
            "entities": [],
        }
    entities = [
        {"entity": "order_id", "value": w, "start": text.find(w), "end": text.find(w) + len(w)}
        for w in words
        if w.startswith("ORD-")
    ]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": entities,
    }


@pytest.fixture
def processor(tmp_path):
    bot = load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu=None, rules=RULES, stories=STORIES))
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    rule, memo = RulePolicy(), MemoizationPolicy(max_history=3)
    rule.train(data)
    memo.train(data)
    ensemble = PolicyEnsemble([rule, memo], bot.config.policy)
    return MessageProcessor(
        bot.domain,
        as_parser(scripted_parse),
        ensemble,
        InMemoryTrackerStore(),
        ResponseGenerator(bot.domain, random.Random(0)),
        ActionRegistry(bot.domain),
    )


def chat(processor, texts, sender="u"):
    async def go():
        return [await processor.handle_message(UserMessage(t, sender)) for t in texts]

    return asyncio.run(go())


def said(turn) -> list[str]:
    return [m["text"] for m in turn.messages]


def actions(turn) -> list[str]:
    return [e.name for e in turn.events if isinstance(e, ActionExecuted)]


def test_form_asks_each_slot_then_submits(processor):
    start, order, reason = chat(processor, ["I want to return something", "ORD-7", "too small"])
    assert said(start) == ["Which order?"]
    assert [e.name for e in start.events if isinstance(e, ActiveLoop)] == ["return_form"]
    assert start.slots["requested_slot"] == "order_id"
    assert start.slots["channel_kind"] == "web"  # from_trigger_intent, filled when the form started
    assert said(order) == ["Why are you returning ORD-7?"]
    assert said(reason) == ["Return for ORD-7 registered: too small (via web)."]
    assert actions(reason) == ["return_form", "utter_submit", "action_listen"]
    assert reason.slots["requested_slot"] is None
    assert [e.name for e in reason.events if isinstance(e, ActiveLoop)] == [None]


def test_digression_is_answered_and_the_form_resumes(processor):
    turns = chat(processor, ["I want to return something", "how long is delivery", "ORD-9", "broken"])
    assert said(turns[1]) == ["Delivery takes 3 days.", "Which order?"]
    assert actions(turns[1]) == ["utter_delivery", "return_form", "action_listen"]
    assert turns[1].slots["order_id"] is None  # the question did not fill the requested slot
    assert said(turns[3]) == ["Return for ORD-9 registered: broken (via web)."]


def test_ignored_intent_does_not_fill_a_form_slot(processor):
    turns = chat(processor, ["I want to return something", "hi"])
    assert turns[1].slots["order_id"] is None
    assert said(turns[1]) == ["Hello again!", "Which order?"]


def test_rule_with_active_loop_condition_deactivates_the_form(processor):
    turns = chat(processor, ["I want to return something", "stop"])
    assert actions(turns[1]) == ["action_deactivate_loop", "utter_stopped", "action_listen"]
    assert said(turns[1]) == ["OK, I stopped the return."]
    after = chat(processor, ["where is my order"])
    assert said(after[0]) == ["Which order do you mean?"]  # the form is gone; no question about it


def test_slot_steps_and_slot_conditions_choose_between_rules(processor):
    (unknown,) = chat(processor, ["where is my order"], sender="a")
    assert said(unknown) == ["Which order do you mean?"]
    (known,) = chat(processor, ["where is my order ORD-5"], sender="b")
    assert said(known) == ["Order ORD-5 is on its way."]


def test_conversation_start_rule_only_at_the_start(processor):
    first, later = chat(processor, ["hi", "hi"])
    assert said(first) == ["Hello!"]
    assert said(later) == ["Hello again!"]


def test_memoization_follows_stories_and_from_intent_mappings_fill(processor):
    good = chat(processor, ["mood?", "yes"], sender="g")
    bad = chat(processor, ["mood?", "no"], sender="b")
    assert said(good[1]) == ["Glad to hear!"] and good[1].slots["happy"] is True
    assert said(bad[1]) == ["Sorry to hear."] and bad[1].slots["happy"] is False
    assert [e.policy for e in good[1].events if isinstance(e, ActionExecuted)][0] == "MemoizationPolicy"


def test_rules_win_over_memoized_stories(processor):
    # the story says greet -> utter_sorry, the conversation_start rule says utter_greet
    (turn,) = chat(processor, ["hi"], sender="r")
    assert said(turn) == ["Hello!"]


def test_unknown_situation_goes_to_core_fallback(processor):
    (turn,) = chat(processor, ["something unexpected"])
    assert actions(turn)[-2:] == ["action_default_fallback", "action_listen"]
    assert [e for e in turn.events if isinstance(e, UserUttered)][0] not in processor.store._trackers[
        "u"
    ].applied_events()


def test_expired_session_starts_again_and_carries_slots(processor):
    chat(processor, ["where is my order ORD-5"], sender="s")
    tracker = processor.store._trackers["s"]
    for e in tracker.events:  # an hour and a bit ago
        e.timestamp = time.time() - 3700
    (turn,) = chat(processor, ["hi"], sender="s")
    assert actions(turn)[:2] == ["action_session_start", "action_listen"]
    assert any(isinstance(e, SlotSet) and e.name == "order_id" and e.value == "ORD-5" for e in turn.events)
    assert said(turn) == ["Hello!"]  # a new session is a conversation start again


def test_two_stage_fallback_affirmed_intent_is_answered(processor):
    unclear, yes = chat(processor, ["hmm where is it", "/check_order"])
    assert said(unclear) == ["Did you mean 'check_order'?"]
    assert [b["payload"] for b in unclear.messages[0]["buttons"]] == ["/check_order", "/out_of_scope"]
    assert said(yes) == ["Which order do you mean?"]
    assert yes.events[-1].name == "action_listen"
    assert processor.store._trackers["u"].active_loop is None


def test_two_stage_fallback_rephrase_then_clear_message(processor):
    unclear, no, rephrased = chat(processor, ["hmm where is it", "/out_of_scope", "where is my order ORD-3"])
    assert said(no) == ["I'm sorry, I didn't quite understand that. Could you rephrase?"]
    assert said(rephrased) == ["Order ORD-3 is on its way."]


def test_two_stage_fallback_gives_up_after_two_unclear_messages(processor):
    turns = chat(processor, ["hmm where is it", "hmm hmm"])
    assert said(turns[1]) == ["Sorry, I didn't get that. Could you rephrase?"]
    tracker = processor.store._trackers["u"]
    assert tracker.active_loop is None
    assert actions(turns[1])[-1] == "action_listen"
    turns = chat(processor, ["hmm again", "/out_of_scope", "hmm still", "/out_of_scope"], sender="v")
    assert said(turns[3]) == ["Sorry, I didn't get that. Could you rephrase?"]
    assert processor.store._trackers["v"].active_loop is None
