"""Events: Rasa's JSON form both ways. Tracker: the state that replaying events implies."""

from __future__ import annotations

import json

import pytest

from agent.bot.domain import Domain, parse_domain
from agent.bot.schema import Reader
from agent.bot.yaml_source import parse_yaml
from agent.core.events import (
    EVENT_TYPES,
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    EntitiesAdded,
    EventFormatError,
    FollowupAction,
    HandoffAssigned,
    HandoffLinked,
    HandoffReleased,
    HandoffRequested,
    HandoffTimeout,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
    event_from_dict,
    events_from_dicts,
)
from agent.core.tracker import Tracker
from agent.errors import Problems

T = 1_700_000_000.5

ALL_EVENTS = [
    UserUttered(
        "hi there",
        {
            "intent": {"name": "greet", "confidence": 0.9},
            "entities": [{"entity": "name", "value": "Anna", "start": 0, "end": 4}],
        },
        "rest",
        "m-1",
        timestamp=T,
        metadata={"k": "v"},
    ),
    BotUttered("Hello!", {"buttons": [{"title": "Yes", "payload": "/affirm"}]}, timestamp=T + 1),
    ActionExecuted("utter_greet", "RulePolicy", 1.0, timestamp=T + 2),
    SlotSet("city", "Paris", timestamp=T + 3),
    SlotSet("cities", ["Paris", "Rome"], timestamp=T + 3.5),
    ActiveLoop("booking_form", timestamp=T + 4),
    ActiveLoop(None, timestamp=T + 4.5),
    Restarted(timestamp=T + 5),
    SessionStarted(timestamp=T + 6, metadata={"channel": "slack"}),
    AllSlotsReset(timestamp=T + 7),
    UserUtteranceReverted(timestamp=T + 8),
    ActionReverted(timestamp=T + 9),
    FollowupAction("action_book", timestamp=T + 10),
    ConversationPaused(timestamp=T + 11),
    ConversationResumed(timestamp=T + 12),
    ActionExecutionRejected("booking_form", "RulePolicy", 0.8, timestamp=T + 13),
    LoopInterrupted(True, timestamp=T + 14),
    EntitiesAdded([{"entity": "city", "value": "Rome"}], timestamp=T + 15),
    HandoffRequested("repeated_fallback", "support", "it arrived broken", timestamp=T + 16),
    HandoffAssigned("alice", timestamp=T + 17),
    AgentUttered("Hi, I'm Alice", "alice", {"buttons": []}, timestamp=T + 18),
    HandoffReleased("alice", "closed", timestamp=T + 19),
    HandoffTimeout("agent", timestamp=T + 20),
    HandoffLinked("slack", "C_AGENTS/1700000000.000100", timestamp=T + 21),
]


def test_every_event_type_is_covered():
    assert {type(e) for e in ALL_EVENTS} == set(EVENT_TYPES.values())


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__ + "-" + str(e.timestamp))
def test_event_json_round_trip(event):
    data = event.as_dict()
    assert data["event"] == type(event).type_name
    assert data["timestamp"] == event.timestamp
    again = event_from_dict(json.loads(json.dumps(data)))
    assert type(again) is type(event)
    assert again == event


def test_rasa_json_names():
    assert ALL_EVENTS[0].as_dict()["event"] == "user"
    assert SlotSet("a", 1).as_dict()["event"] == "slot"
    assert UserUtteranceReverted().as_dict()["event"] == "rewind"
    assert ActionReverted().as_dict()["event"] == "undo"
    assert AllSlotsReset().as_dict()["event"] == "reset_slots"
    data = ActionExecuted("utter_x", timestamp=T).as_dict()
    assert data == {
        "event": "action",
        "timestamp": T,
        "metadata": {},
        "name": "utter_x",
        "policy": None,
        "confidence": None,
    }


def test_events_from_action_server_json():
    events = events_from_dicts(
        [
            {"event": "slot", "name": "city", "value": "Rome", "timestamp": None},
            {"event": "form", "name": "old_form"},
            {"event": "followup", "name": "action_x"},
            {"event": "reset_slots", "metadata": None},
            {"event": "form_validation", "validate": False},
        ]
    )
    assert events[0] == SlotSet("city", "Rome", timestamp=events[0].timestamp)
    assert isinstance(events[0].timestamp, float)
    assert isinstance(events[1], ActiveLoop) and events[1].name == "old_form"  # Rasa 2 alias
    assert isinstance(events[2], FollowupAction) and events[2].name == "action_x"
    assert isinstance(events[3], AllSlotsReset) and events[3].metadata == {}
    assert isinstance(events[4], LoopInterrupted) and events[4].is_interrupted is True


def test_unknown_event_type_is_rejected():
    with pytest.raises(EventFormatError, match="unknown event type 'teleport'"):
        event_from_dict({"event": "teleport"})


def test_user_uttered_helpers():
    e = ALL_EVENTS[0]
    assert e.intent_name == "greet"
    assert e.entities[0]["value"] == "Anna"
    assert UserUttered("x").intent_name is None and UserUttered("x").entities == []


# ---------------------------------------------------------------- tracker

DOMAIN = """
intents: [greet, inform]
entities: [city]
slots:
  city:
    type: text
    mappings: [{type: from_entity, entity: city}]
  logged_in:
    type: bool
    initial_value: false
    mappings: [{type: custom}]
  tags:
    type: list
    initial_value: [a]
    mappings: [{type: custom}]
forms:
  booking_form:
    required_slots: [city]
"""


@pytest.fixture
def domain() -> Domain:
    problems = Problems()
    d = parse_domain(parse_yaml(DOMAIN, "domain.yml"), "domain.yml", Reader("domain.yml", problems))
    assert problems.items == []
    return d


def user(text: str, intent: str) -> UserUttered:
    return UserUttered(text, {"intent": {"name": intent, "confidence": 1.0}, "entities": []})


def test_initial_slots(domain):
    t = Tracker("u1", domain)
    assert t.slots == {"city": None, "logged_in": False, "tags": ["a"], "requested_slot": None}
    assert t.latest_message is None and t.active_loop is None


def test_slots_come_from_slot_set_events(domain):
    t = Tracker("u1", domain, [user("hi", "greet"), SlotSet("city", "Paris"), SlotSet("logged_in", True)])
    assert t.slots["city"] == "Paris" and t.slots["logged_in"] is True
    t.append(SlotSet("city", "Rome"))
    assert t.slots["city"] == "Rome"
    assert len(t.events) == 4


def test_user_utterance_reverted_removes_last_user_turn_and_its_slots(domain):
    t = Tracker("u1", domain)
    t.extend(
        [
            ActionExecuted("action_listen"),
            user("hi", "greet"),
            SlotSet("city", "Paris"),
            ActionExecuted("utter_greet"),
            ActionExecuted("action_listen"),
            user("I am in Rome", "inform"),
            SlotSet("city", "Rome"),
            SlotSet("logged_in", True),
            ActionExecuted("action_revert_fallback_events"),
            UserUtteranceReverted(),
        ]
    )
    assert t.slots["city"] == "Paris"  # the value from before the reverted turn
    assert t.slots["logged_in"] is False
    assert t.latest_message.text == "hi"
    assert t.state.latest_action == "action_listen"
    assert not any(isinstance(e, UserUttered) and e.text == "I am in Rome" for e in t.applied_events())
    assert len(t.events) == 10  # the log itself is append-only


def test_action_reverted_undoes_the_last_action(domain):
    t = Tracker(
        "u1",
        domain,
        [
            user("hi", "greet"),
            ActionExecuted("utter_greet"),
            ActionExecuted("action_set"),
            SlotSet("city", "X"),
            ActionReverted(),
        ],
    )
    assert t.slots["city"] is None
    assert t.state.latest_action == "utter_greet"


def test_restarted_resets_slots_to_initial_values(domain):
    t = Tracker(
        "u1",
        domain,
        [
            user("hi", "greet"),
            SlotSet("logged_in", True),
            SlotSet("tags", ["x", "y"]),
            SlotSet("city", "Paris"),
            ActiveLoop("booking_form"),
            ConversationPaused(),
        ],
    )
    assert t.slots["tags"] == ["x", "y"] and t.state.paused
    t.append(Restarted())
    assert t.slots == {"city": None, "logged_in": False, "tags": ["a"], "requested_slot": None}
    assert t.active_loop is None and t.latest_message is None and not t.state.paused
    # the initial value is copied, not shared
    t.slots["tags"].append("b")
    assert domain.slots["tags"].initial_value == ["a"]


def test_all_slots_reset_keeps_the_rest_of_the_state(domain):
    t = Tracker(
        "u1", domain, [user("hi", "greet"), SlotSet("city", "Paris"), ActiveLoop("booking_form"), AllSlotsReset()]
    )
    assert t.slots["city"] is None
    assert t.active_loop == "booking_form" and t.latest_message.text == "hi"


def test_active_loop_sets_and_clears(domain):
    t = Tracker("u1", domain, [user("book", "inform"), ActionExecuted("booking_form"), ActiveLoop("booking_form")])
    assert t.active_loop == "booking_form"
    assert t.as_dict()["active_loop"] == {"name": "booking_form"}
    t.append(LoopInterrupted(True))
    assert t.state.loop_interrupted is True
    t.append(ActiveLoop(None))
    assert t.active_loop is None and t.state.loop_interrupted is False
    assert t.as_dict()["active_loop"] == {}


def test_session_started_and_followup(domain):
    t = Tracker("u1", domain, [SlotSet("city", "Paris"), FollowupAction("action_x")])
    assert t.state.followup_action == "action_x"
    t.append(ActionExecuted("action_x"))
    assert t.state.followup_action is None
    t.append(SessionStarted())
    assert t.has_session() and t.slots["city"] is None


def test_tracker_json_for_action_servers(domain):
    t = Tracker(
        "conv-7",
        domain,
        [
            UserUttered("hi", {"intent": {"name": "greet", "confidence": 1.0}, "entities": []}, "slack", timestamp=T),
            ActionExecuted("utter_greet", timestamp=T + 1),
        ],
    )
    data = t.as_dict()
    assert data["sender_id"] == data["conversation_id"] == "conv-7"
    assert data["latest_message"]["text"] == "hi" and data["latest_message"]["intent"]["name"] == "greet"
    assert data["latest_input_channel"] == "slack"
    assert data["latest_event_time"] == T + 1
    assert data["latest_action_name"] == "utter_greet"
    assert [e["event"] for e in data["events"]] == ["user", "action"]
    json.dumps(data)  # serialisable
