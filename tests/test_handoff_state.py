"""Human handoff as tracked state: the fold, the silence rule in the processor, the triggers, and the
`handoff:` settings in endpoints.yml."""

from __future__ import annotations

import asyncio
import time

import pytest

from agent.bot.endpoints import load_endpoints
from agent.bot.handoff_settings import HandoffSettings
from agent.core.events import (
    AgentUttered,
    ConversationPaused,
    HandoffAssigned,
    HandoffReleased,
    HandoffRequested,
    HandoffTimeout,
    SessionStarted,
)
from agent.core.handoff import BOT, CLOSED, HUMAN, QUEUED, HandoffState, fold_handoff
from agent.core.processor import MessageProcessor, UserMessage
from agent.core.tracker import Tracker
from agent.errors import AgentError
from agent.nlu.payload import parse_payload
from agent.stores import snapshot
from tests.helpers.rule_bot import rule_processor

DOMAIN = """
version: "3.1"
intents: [greet, talk_to_human, deny, complain]
responses:
  utter_greet: [{text: "Hello!"}]
  utter_handoff: [{text: "A person will join shortly."}]
  utter_sorry: [{text: "Sorry about that."}]
"""
RULES = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: hand over
  steps:
  - intent: talk_to_human
  - action: action_handoff
- rule: complaint
  steps:
  - intent: complain
  - action: utter_sorry
- rule: fallback
  steps:
  - intent: nlu_fallback
  - action: utter_sorry
"""


def _parse(text: str) -> dict:
    """Payload messages, plus "[negative]" marking a message's sentiment as the analyzer would."""
    negative = text.endswith("[negative]")
    data = parse_payload(text.removesuffix("[negative]").strip()) or {}
    if negative:
        data["sentiment"] = {"label": "negative", "scores": {"negative": 0.9, "neutral": 0.05, "positive": 0.05}}
    return data


def _processor(tmp_path, settings: HandoffSettings | None = None, store=None, server=None) -> MessageProcessor:
    return rule_processor(tmp_path / "bot", DOMAIN, RULES, parse=_parse, server=server, handoff=settings, store=store)


def _say(processor, *texts, sender="c1"):
    async def go():
        return [await processor.handle_message(UserMessage(t, sender)) for t in texts]

    return asyncio.run(go())


def _texts(turn) -> list:
    return [m.get("text") for m in turn.messages]


def _append(processor, *events, sender="c1") -> Tracker:
    async def go():
        tracker = await processor.store.get_or_create(sender, processor.domain)
        tracker.extend(events)
        await processor.store.save(tracker, list(events))
        return tracker

    return asyncio.run(go())


# ------------------------------------------------------------------ the fold


def test_the_state_machine_goes_bot_queued_human_and_back():
    state = HandoffState()
    state = fold_handoff(state, HandoffRequested("requested", "support", "help", timestamp=10.0))
    assert (state.status, state.queue, state.requested_at, state.silent) == (QUEUED, "support", 10.0, True)
    state = fold_handoff(state, HandoffAssigned("alice", timestamp=12.0))
    assert (state.status, state.agent, state.assigned_at) == (HUMAN, "alice", 12.0)
    state = fold_handoff(state, AgentUttered("hi", "alice", timestamp=13.0))
    assert state.last_agent_message_at == 13.0
    assert fold_handoff(state, HandoffReleased("alice", "bot")).status == BOT
    assert fold_handoff(state, HandoffReleased("alice", "closed")).status == CLOSED


def test_events_that_do_not_apply_change_nothing():
    idle = HandoffState()
    assert fold_handoff(idle, HandoffAssigned("alice")) == idle  # nothing to accept
    assert fold_handoff(idle, HandoffReleased("alice", "bot")) == idle
    queued = fold_handoff(idle, HandoffRequested("requested", "support", timestamp=1.0))
    assert fold_handoff(queued, HandoffRequested("api", "other", timestamp=2.0)) == queued  # keeps its place


def test_timeouts_send_the_queue_back_to_the_bot_and_a_quiet_agent_back_to_the_queue():
    queued = fold_handoff(HandoffState(), HandoffRequested("requested", "support"))
    assert fold_handoff(queued, HandoffTimeout("queue")).status == BOT
    human = fold_handoff(queued, HandoffAssigned("alice"))
    back = fold_handoff(human, HandoffTimeout("agent"))
    assert (back.status, back.agent) == (QUEUED, None)


def test_the_handoff_survives_a_new_session_and_a_snapshot(tmp_path):
    processor = _processor(tmp_path)
    _say(processor, "/talk_to_human")
    tracker = _append(processor, HandoffAssigned("alice"), SessionStarted())
    assert tracker.state.handoff.status == HUMAN and tracker.as_dict()["handoff"]["agent"] == "alice"
    restored = snapshot.decode("c1", processor.domain, snapshot.encode(tracker), [])
    assert restored.state.handoff == tracker.state.handoff


# ------------------------------------------------------------------ the silence rule


def test_a_person_takes_over_the_bot_stays_silent_and_answers_again_after_release(tmp_path):
    processor = _processor(tmp_path)
    (asked,) = _say(processor, "/talk_to_human")
    assert _texts(asked) == ["A person will join shortly."] and asked.handoff["status"] == QUEUED
    waiting, again = _say(processor, "/greet", "are you there?")
    assert waiting.messages == [] and again.messages == []  # queued: stored, not answered
    _append(processor, HandoffAssigned("alice"), AgentUttered("Hi, Alice here", "alice"))
    (talking,) = _say(processor, "/greet")
    assert talking.messages == [] and talking.handoff["status"] == HUMAN
    tracker = _append(processor, HandoffReleased("alice", "bot"))
    stored = [e.text for e in tracker.events if e.type_name == "user"]
    assert stored == ["/talk_to_human", "/greet", "are you there?", "/greet"]  # nothing lost
    (back,) = _say(processor, "/greet")
    assert _texts(back) == ["Hello!"]  # the first message after release gets a bot reply


def test_a_cancel_intent_while_queued_gives_the_conversation_back(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(cancel_intents=("deny",)))
    _say(processor, "/talk_to_human")
    cancel, hello = _say(processor, "/deny", "/greet")
    assert cancel.handoff["status"] == BOT and any(e.type_name == "handoff_released" for e in cancel.events)
    assert _texts(hello) == ["Hello!"]


def test_cancel_intents_do_not_apply_once_a_person_has_the_conversation(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(cancel_intents=("deny",)))
    _say(processor, "/talk_to_human")
    _append(processor, HandoffAssigned("alice"))
    (turn,) = _say(processor, "/deny")
    assert turn.messages == [] and turn.handoff["status"] == HUMAN


def test_rasas_pause_silences_the_bot_except_for_a_restart(tmp_path):
    processor = _processor(tmp_path)
    _say(processor, "/greet")
    _append(processor, ConversationPaused())
    (paused,) = _say(processor, "/greet")
    assert paused.messages == []
    (restart,) = _say(processor, "/restart")
    assert any(e.type_name == "restart" for e in restart.events)


def test_a_queue_nobody_accepts_in_time_returns_to_the_bot(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(queue_timeout=60))
    _say(processor, "/greet")
    _append(processor, HandoffRequested("requested", "default", timestamp=time.time() - 61))
    (turn,) = _say(processor, "/greet")
    assert [e.type_name for e in turn.events][1] == "handoff_timeout"
    assert _texts(turn)[0].startswith("Sorry, nobody from our team could take your chat in time.")
    assert _texts(turn)[1:] == ["Hello!"] and turn.handoff["status"] == BOT  # and the bot answers the message


def test_a_queue_within_its_timeout_stays_silent(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(queue_timeout=60))
    _say(processor, "/greet")
    _append(processor, HandoffRequested("requested", "default", timestamp=time.time() - 30))
    (turn,) = _say(processor, "/greet")
    assert turn.messages == [] and turn.handoff["status"] == QUEUED


def test_a_quiet_agent_puts_the_conversation_back_in_the_queue(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(agent_timeout=60))
    _say(processor, "/talk_to_human")
    tracker = _append(processor, HandoffAssigned("alice", timestamp=time.time() - 61))
    assert tracker.state.handoff.status == HUMAN
    (turn,) = _say(processor, "/greet")
    assert turn.messages == [] and turn.handoff["status"] == QUEUED and turn.handoff["agent"] is None


# ------------------------------------------------------------------ triggers


def test_repeated_fallback_hands_off_when_configured(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(after_fallbacks=2, queue="support"))
    first, second = _say(processor, "/nlu_fallback", "/nlu_fallback")
    assert _texts(first) == ["Sorry about that."] and first.handoff["status"] == BOT
    assert _texts(second) == ["A person will join shortly."]
    assert (second.handoff["status"], second.handoff["reason"], second.handoff["queue"]) == (
        QUEUED,
        "repeated_fallback",
        "support",
    )


def test_repeated_fallback_is_off_by_default(tmp_path):
    turns = _say(_processor(tmp_path), "/nlu_fallback", "/nlu_fallback", "/nlu_fallback")
    assert all(t.handoff["status"] == BOT for t in turns)


def test_a_customer_negative_message_after_message_is_handed_to_a_person(tmp_path):
    processor = _processor(tmp_path, HandoffSettings(after_negative=2))
    first, calm, angry, angrier = _say(
        processor, "/complain [negative]", "/greet", "/complain [negative]", "/complain [negative]"
    )
    assert first.handoff["status"] == calm.handoff["status"] == angry.handoff["status"] == BOT  # not in a row
    assert angrier.handoff["reason"] == "negative_sentiment" and angrier.handoff["status"] == QUEUED


def test_a_custom_action_can_return_the_handoff_event(tmp_path):
    from tests.test_rasa_behaviour import FakeActionServer

    server = FakeActionServer(
        {"action_escalate": {"events": [{"event": "handoff_requested", "reason": "vip", "queue": "gold"}]}}
    )
    processor = rule_processor(
        tmp_path / "bot",
        DOMAIN + "actions: [action_escalate]\n",
        RULES.replace("action: action_handoff", "action: action_escalate"),
        parse=_parse,
        server=server,
    )
    asked, waiting = _say(processor, "/talk_to_human", "/greet")
    assert (asked.handoff["reason"], asked.handoff["queue"]) == ("vip", "gold") and waiting.messages == []


# ------------------------------------------------------------------ settings


def test_handoff_settings_are_read_from_endpoints_yml(tmp_path, monkeypatch):
    monkeypatch.setenv("ALICE_TOKEN", "s3cret")
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "handoff:\n  queue: support\n  after_fallbacks: 2\n  cancel_intents: [deny]\n"
        "  queue_timeout: 600\n  agents:\n    alice: ${ALICE_TOKEN}\n"
    )
    settings = load_endpoints(path).handoff
    assert (settings.queue, settings.after_fallbacks, settings.cancel_intents, settings.queue_timeout) == (
        "support",
        2,
        ("deny",),
        600,
    )
    assert settings.agent_for("s3cret") == "alice" and settings.agent_for("wrong") is None


@pytest.mark.parametrize(
    "body, code, line",
    [
        ("handoff:\n  after_fallbacks: two\n", "E522", 2),
        ("handoff:\n  queue_timeout: -5\n", "E522", 2),
        ("handoff:\n  queue: [a, b]\n", "E524", 2),
        ("handoff:\n  agents: [alice]\n", "E523", 2),
        ("handoff:\n  agents:\n    alice: same\n    bob: same\n", "E523", 4),
        ("handoff:\n  after_fallback: 2\n", "E001", 2),
    ],
)
def test_bad_handoff_settings_are_errors_at_their_line(tmp_path, body, code, line):
    path = tmp_path / "endpoints.yml"
    path.write_text(body)
    with pytest.raises(AgentError) as caught:
        load_endpoints(path)
    problem = caught.value.problems.items[0]
    assert (problem.code, problem.line) == (code, line)


def test_test_conversations_expect_silence_after_a_handoff(tmp_path):
    from types import SimpleNamespace

    from agent.bot.project import load_test_stories
    from agent.evaluation.stories import evaluate_stories

    processor = _processor(tmp_path)
    agent = SimpleNamespace(domain=processor.domain, processor=processor)
    text = """
version: "3.1"
stories:
- story: silent while a person has it
  steps:
  - intent: talk_to_human
  - action: action_handoff
  - intent: greet
- story: wrongly expects the bot to answer
  steps:
  - intent: talk_to_human
  - action: action_handoff
  - intent: greet
  - action: utter_greet
"""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_stories.yml").write_text(text)
    stories = load_test_stories(tmp_path / "tests")
    silent, answering = asyncio.run(evaluate_stories(agent, stories, e2e=False))
    assert silent.passed and not answering.passed


def test_the_shell_says_the_bot_is_silent_and_handback_returns_it(tmp_path):
    from types import SimpleNamespace

    from rich.console import Console

    from agent.cli.shell import Shell

    processor = _processor(tmp_path)

    async def handle_text(text, sender_id="default", channel=None):
        return await processor.handle_message(UserMessage(text, sender_id, channel))

    agent = SimpleNamespace(processor=processor, domain=processor.domain, handle_text=handle_text)
    console = Console(record=True, width=200)
    shell = Shell(agent, console, debug=False, sender="me")

    async def go():
        await shell.send("/talk_to_human")
        await shell.send("/greet")
        released = await shell.hand_back()
        await shell.send("/greet")
        return released, await shell.hand_back()

    released, again = asyncio.run(go())
    out = console.export_text()
    assert "A person will join shortly." in out and "handed to a person" in out
    assert released and not again and out.count("bot: Hello!") == 1  # silent once, answered after /handback


def test_a_restart_while_queued_leaves_the_queue(tmp_path):
    processor = _processor(tmp_path)
    _say(processor, "/talk_to_human")
    (restart,) = _say(processor, "/restart")
    kinds = [e.type_name for e in restart.events]
    assert "handoff_released" in kinds and "restart" in kinds and restart.handoff["status"] == BOT


def test_business_hours_decide_whether_a_handoff_queues(tmp_path):
    import datetime as dt

    from agent.bot.business_hours import BusinessHours

    weekdays = BusinessHours("Asia/Shanghai", ("mon", "tue", "wed", "thu", "fri"), dt.time(8), dt.time(20))
    utc = dt.timezone.utc
    assert weekdays.staffed(dt.datetime(2026, 12, 2, 1, 0, tzinfo=utc))  # Wednesday 09:00 in Shanghai
    assert not weekdays.staffed(dt.datetime(2026, 12, 2, 13, 0, tzinfo=utc))  # Wednesday 21:00
    assert not weekdays.staffed(dt.datetime(2026, 12, 5, 3, 0, tzinfo=utc))  # Saturday 11:00
    nights = BusinessHours("UTC", ("fri",), dt.time(22), dt.time(6))
    assert nights.staffed(dt.datetime(2026, 12, 4, 23, 0, tzinfo=utc))  # Friday 23:00
    assert nights.staffed(dt.datetime(2026, 12, 5, 5, 0, tzinfo=utc))  # Saturday 05:00: Friday's night
    assert not nights.staffed(dt.datetime(2026, 12, 6, 5, 0, tzinfo=utc))  # Sunday 05:00

    never = BusinessHours("UTC", (), dt.time(8), dt.time(9))
    processor = _processor(tmp_path, HandoffSettings(hours=never))
    (turn,) = _say(processor, "/talk_to_human")
    assert _texts(turn) == ["Our team is not available right now. Please try again during opening hours."]
    assert turn.handoff["status"] == BOT  # not queued: nobody would answer


def test_hours_are_read_from_endpoints_yml(tmp_path):
    import datetime as dt

    path = tmp_path / "endpoints.yml"
    path.write_text(
        'handoff:\n  hours:\n    timezone: Europe/Berlin\n    days: [Mon, tue]\n    open: "08:30"\n    close: 17:00\n'
    )
    hours = load_endpoints(path).handoff.hours
    assert (hours.timezone, hours.days, hours.open, hours.close) == (
        "Europe/Berlin",
        ("mon", "tue"),
        dt.time(8, 30),
        dt.time(17),
    )


@pytest.mark.parametrize(
    "hours, line",
    [
        ("    timezone: Mars/Olympus\n", 3),
        ("    days: [mon, funday]\n", 3),
        ('    open: "25:00"\n', 3),
    ],
)
def test_bad_hours_are_errors_at_their_line(tmp_path, hours, line):
    path = tmp_path / "endpoints.yml"
    path.write_text("handoff:\n  hours:\n" + hours)
    with pytest.raises(AgentError) as caught:
        load_endpoints(path)
    problem = caught.value.problems.items[0]
    assert (problem.code, problem.line) == ("E526", line)
