"""Behaviours Rasa 3.x users rely on, each on a small bot written to reproduce it: forms asking with
custom actions, a bot's own default actions, action-server answers with nulls and junk."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.core.actions.custom import ServerReply
from agent.core.events import ActionExecuted, BotUttered
from agent.core.processor import MessageProcessor, UserMessage
from tests.helpers.rule_bot import rule_processor

DOMAIN = """
version: "3.1"
intents: [greet, book, inform, nonsense]
entities: [city]
slots:
  city:
    type: text
    mappings:
      - type: from_entity
        entity: city
  date:
    type: text
    mappings:
      - type: from_text
        conditions:
          - active_loop: booking_form
            requested_slot: date
forms:
  booking_form:
    required_slots: [city, date]
actions:
  - action_ask_booking_form_city
  - action_ask_date
  - action_default_fallback
  - action_reply
responses:
  utter_ask_city: [{text: "Which city? (the response, not the action)"}]
  utter_ask_booking_form_date: [{text: "When? (form-specific response)"}]
  utter_booked: [{text: "Booked."}]
"""

RULES = """
version: "3.1"
rules:
- rule: book
  steps:
  - intent: book
  - action: booking_form
  - active_loop: booking_form
- rule: submit
  condition:
  - active_loop: booking_form
  steps:
  - action: booking_form
  - active_loop: null
  - action: utter_booked
- rule: reply
  steps:
  - intent: greet
  - action: action_reply
"""


class FakeActionServer:
    """Answers each custom action as the test says; records what was asked."""

    def __init__(self, answers: dict[str, object]):
        self.answers = answers
        self.called: list[str] = []

    def describe(self) -> str:
        return "fake action server"

    async def call(self, payload: dict) -> ServerReply:
        name = payload["next_action"]
        self.called.append(name)
        body = self.answers.get(name, {"events": [], "responses": []})
        return ServerReply(200, body(payload) if callable(body) else body)


def _processor(tmp_path, server, domain: str = DOMAIN, rules: str = RULES) -> MessageProcessor:
    return rule_processor(tmp_path / "bot", domain, rules, server=server)


def _say(processor, texts, sender="u"):
    async def go():
        return [await processor.handle_message(UserMessage(t, sender)) for t in texts]

    return asyncio.run(go())


def _texts(turn) -> list:
    return [m.get("text") for m in turn.messages]


def test_a_form_asks_with_its_custom_ask_actions_in_rasas_order(tmp_path):
    server = FakeActionServer(
        {
            "action_ask_booking_form_city": {"responses": [{"text": "Which city? (form-specific action)"}]},
            "action_ask_date": {"responses": [{"text": "When? (generic action)"}]},
        }
    )
    start, city = _say(_processor(tmp_path, server), ["/book", '/inform{"city": "Oslo"}'])
    # action_ask_<form>_<slot> comes before utter_ask_<slot>
    assert _texts(start) == ["Which city? (form-specific action)"]
    # utter_ask_<form>_<slot> comes before action_ask_<slot>
    assert _texts(city) == ["When? (form-specific response)"]
    assert server.called == ["action_ask_booking_form_city"]


def test_the_ask_action_sees_the_slot_the_form_requests(tmp_path):
    seen = []

    def ask(payload):
        seen.append(payload["tracker"]["slots"]["requested_slot"])
        return {"responses": [{"text": "Which city?"}]}

    _say(_processor(tmp_path, FakeActionServer({"action_ask_booking_form_city": ask})), ["/book"])
    assert seen == ["city"]


def test_a_bots_own_default_fallback_replaces_the_built_in_one(tmp_path):
    server = FakeActionServer({"action_default_fallback": {"responses": [{"text": "Our own fallback"}]}})
    (turn,) = _say(_processor(tmp_path, server), ["/nonsense"])
    assert _texts(turn) == ["Our own fallback"] and server.called == ["action_default_fallback"]


FALLBACK_DOMAIN = """
version: "3.1"
intents: [greet]
responses:
  utter_greet: [{text: "Hello"}]
  utter_default: [{text: "Sorry, I give up."}]
  utter_ask_rephrase: [{text: "Could you rephrase?"}]
  utter_after_fallback: [{text: "Let me find a person."}]
"""

FALLBACK_RULES = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: clarify
  steps:
  - intent: nlu_fallback
  - action: action_two_stage_fallback
  - active_loop: action_two_stage_fallback
- rule: after the two-stage fallback gives up
  condition:
  - active_loop: action_two_stage_fallback
  steps:
  - action: action_two_stage_fallback
  - active_loop: null
  - action: utter_after_fallback
"""


def test_a_rule_continues_after_the_two_stage_fallback_loop_ends(tmp_path):
    server = FakeActionServer({"action_default_fallback": {"responses": [{"text": "Our own fallback"}]}})
    domain = FALLBACK_DOMAIN + "actions: [action_default_fallback]\n"
    processor = _processor(tmp_path, server, domain, FALLBACK_RULES)
    ask, give_up, greet = _say(processor, ["/nlu_fallback", "/nlu_fallback", "/greet"])
    assert _texts(ask) == ["Could you rephrase?"]
    # the bot's own fallback runs inside the loop, then the rule written for the loop's end fires
    assert _texts(give_up) == ["Our own fallback", "Let me find a person."]
    assert server.called == ["action_default_fallback"]
    assert _texts(greet) == ["Hello"]  # the loop is over: rules answer again


def test_the_built_in_fallback_forgets_the_message_and_listens_after_giving_up(tmp_path):
    processor = _processor(tmp_path, FakeActionServer({}), FALLBACK_DOMAIN, FALLBACK_RULES)
    _, give_up, greet = _say(processor, ["/nlu_fallback", "/nlu_fallback", "/greet"])
    assert _texts(give_up) == ["Sorry, I give up."]  # reverted, as in Rasa: nothing follows
    assert _texts(greet) == ["Hello"]


def test_a_bot_message_with_null_data_is_delivered(tmp_path):
    server = FakeActionServer(
        {
            "action_reply": {
                "events": [{"event": "bot", "text": "hi from sdk", "data": None, "metadata": None, "timestamp": None}],
                "responses": [],
            }
        }
    )
    (turn,) = _say(_processor(tmp_path, server), ["/greet"])
    assert _texts(turn) == ["hi from sdk"] and turn.warnings == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
EVENT = st.fixed_dictionaries(
    {
        "event": st.sampled_from(
            ["bot", "user", "slot", "action", "active_loop", "followup", "reset_slots", "pause", "entities", "x"]
        )
    },
    optional={
        "text": JSON,
        "data": JSON,
        "name": JSON,
        "value": JSON,
        "timestamp": JSON,
        "metadata": JSON,
        "parse_data": JSON,
        "entities": JSON,
        "policy": JSON,
    },
)
RESPONSE = st.dictionaries(
    st.sampled_from(["text", "response", "template", "buttons", "image", "custom", "language", "channel", "name"]),
    JSON,
    max_size=4,
)
BODY = st.fixed_dictionaries(
    {},
    optional={"events": st.lists(EVENT, max_size=4) | JSON, "responses": st.lists(RESPONSE | JSON, max_size=3) | JSON},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODY)
def test_any_action_server_answer_leaves_the_turn_standing(tmp_path, body):
    """Whatever JSON an action server returns, the turn completes and ends listening; what cannot be
    read is skipped with a warning."""
    processor = _processor(tmp_path, FakeActionServer({"action_reply": body}))
    (turn,) = _say(processor, ["/greet"], sender="fuzz")
    assert [e.name for e in turn.events if isinstance(e, ActionExecuted)][-1] == "action_listen"
    for event in turn.events:
        if isinstance(event, BotUttered):
            assert event.text is None or isinstance(event.text, str)
            assert isinstance(event.data, dict)


def test_in_process_actions_import_their_siblings_as_the_actions_package(tmp_path, monkeypatch):
    """`from actions import config` and `from actions.db import ...` work as under `rasa run actions`;
    a relative path in action code resolves from the project root the server was started in."""
    from agent.core.actions.custom import InProcessActionServer

    code = tmp_path / "project" / "actions"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "config.py").write_text("GREETING = 'hello from config'\n")
    (code / "db.py").write_text(
        "from pathlib import Path\n\ndef note():\n    return Path('actions/note.txt').read_text().strip()\n"
    )
    (code / "note.txt").write_text("read beside the actions\n")
    (code / "actions.py").write_text(
        "from rasa_sdk import Action\n"
        "from actions import config\n"
        "from actions.db import note\n\n"
        "class Hello(Action):\n"
        "    def name(self):\n        return 'action_hello'\n\n"
        "    def run(self, dispatcher, tracker, domain):\n"
        "        dispatcher.utter_message(text=f'{config.GREETING}; {note()}')\n"
        "        return []\n"
    )
    monkeypatch.chdir(tmp_path / "project")
    server = InProcessActionServer(code)
    payload = {
        "next_action": "action_hello",
        "sender_id": "u",
        "domain": {},
        "tracker": {"sender_id": "u", "slots": {}, "latest_message": {}, "events": []},
    }
    reply = asyncio.run(server.call(payload))
    assert reply.status == 200, reply.body
    assert reply.body["responses"][0]["text"] == "hello from config; read beside the actions"


def test_failed_test_stories_keep_the_entities_of_intent_steps(tmp_path):
    from agent.bot.project import load_test_stories
    from agent.bot.stories import ActionStep, UserStep
    from agent.core.training_data import StoryPath
    from agent.evaluation.reports import write_reports
    from agent.evaluation.stories import StepResult, StoryResult

    user = UserStep(
        "order_status",
        [
            {"entity": "order_id", "value": "ORD-1"},
            {"entity": "city", "value": "New York", "role": "destination"},
            {"entity": "urgent"},
        ],
        line=3,
    )
    story = StoryPath("story", "order with entities", (user, ActionStep("utter_status", line=7)))
    write_reports([StoryResult(story, [StepResult("action", "utter_status", "utter_greet", 7)])], tmp_path, False)
    (back,) = load_test_stories(tmp_path / "failed_test_stories.yml")
    assert back.steps[0].entities == [
        {"entity": "order_id", "value": "ORD-1"},
        {"entity": "city", "value": "New York", "role": "destination"},
        {"entity": "urgent"},
    ]


def _parse_config(text: str):
    from agent.bot.config import parse_config
    from agent.bot.schema import Reader
    from agent.bot.yaml_source import parse_yaml
    from agent.errors import Problems

    return parse_config(parse_yaml(text, "config.yml"), Reader("config.yml", Problems()))


@pytest.mark.parametrize(
    "config,falls_back",
    [
        ("pipeline:\n- name: DIETClassifier\n", False),  # Rasa: no FallbackClassifier, no nlu_fallback
        ("pipeline:\n- name: DIETClassifier\n- name: FallbackClassifier\n", True),
        ("pipeline:\n", True),  # no pipeline is Rasa's default pipeline, which has one
        ("language: en\n", True),
    ],
)
def test_nlu_fallback_only_where_the_pipeline_has_a_fallback_classifier(config, falls_back):
    from agent.nlu.interpreter import NLUInterpreter, effective_fallback
    from agent.nlu.thresholds import Thresholds

    parsed_config = _parse_config(config)
    swept = Thresholds(fallback=0.6, ambiguity=0.2, source="test")
    interpreter = NLUInterpreter(None, effective_fallback(parsed_config.fallback, swept), None, {}, None)
    parsed = interpreter.parse_ranking("mumble", [("greet", 0.35), ("book", 0.33), ("inform", 0.32)])
    assert (parsed["intent"]["name"] == "nlu_fallback") is falls_back
    assert parsed_config.fallback.enabled is falls_back


class _Bank:
    """An FAQ bank of one entry that every message matches well."""

    def __init__(self):
        from agent.bot.faq_entries import FAQEntry
        from agent.faq.bank import FAQMatch

        self.entry = FAQEntry("hours", ["when are you open"], {"text": "9 to 5"})
        self.match = FAQMatch("hours", 0.95, "when are you open")

    def search_vectors(self, vectors, k, group=None):
        return [[self.match]]

    def groups(self):
        return {self.entry.group}

    def get(self, entry_id):
        return self.entry


@pytest.mark.parametrize("answer_unrecognised", [True, False])
def test_the_faq_answers_what_no_intent_claims_only_where_it_is_asked_to(answer_unrecognised):
    import numpy as np

    from agent.faq.decision import FAQRouter
    from agent.faq.threshold import FAQThreshold

    router = FAQRouter(_Bank(), FAQThreshold(0.5, "test", None), None, answer_unrecognised)
    parsed = {"intent": {"name": "nlu_fallback", "confidence": 0.2}, "intent_ranking": [], "entities": []}
    decided = router.decide(parsed, np.zeros(4, dtype=np.float32))
    assert (decided["intent"]["name"] == "faq") is answer_unrecognised
    named = router.decide({"intent": {"name": "faq", "confidence": 0.9}, "entities": []}, np.zeros(4))
    assert named["faq"]["answer"] == "hours"  # a retrieval intent the classifier names is always answered
