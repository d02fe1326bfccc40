"""Custom actions through the real rasa-sdk: an HTTP action server and the same code in process."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from agent.bot.project import load_bot
from agent.core.actions.custom import HttpActionServer, InProcessActionServer
from agent.core.actions.registry import ActionRegistry
from agent.core.events import ActionExecuted, ActionExecutionRejected, SlotSet
from agent.core.nlg import ResponseGenerator
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.policies.rule import RulePolicy
from agent.core.processor import MessageProcessor, UserMessage
from agent.core.training_data import TrainingData
from agent.stores.base import InMemoryTrackerStore
from tests.helpers.bot_factory import write_bot
from tests.helpers.fakes import as_parser
from tests.helpers.processes import free_port, wait_until_healthy

DOMAIN = """
version: "3.1"
intents: [check, request_return, inform, trouble, crash]
entities: [order_id]
slots:
  order_id:
    type: text
    mappings:
      - type: from_text
        conditions:
          - active_loop: return_form
            requested_slot: order_id
  order_status:
    type: text
    mappings:
      - type: custom
forms:
  return_form:
    required_slots: [order_id]
actions: [action_check_order, action_reject_me, action_crash, validate_return_form]
responses:
  utter_done: [{text: "Done with {order}."}]
  utter_ask_order_id: [{text: "Which order?"}]
  utter_registered: [{text: "Return for {order_id} registered."}]
  utter_other: [{text: "Something else then."}]
"""
RULES = """
version: "3.1"
rules:
- rule: check
  steps: [{intent: check}, {action: action_check_order}]
- rule: trouble
  steps: [{intent: trouble}, {action: action_reject_me}]
- rule: after rejection
  steps: [{intent: trouble}, {action: utter_other}]
- rule: crash
  steps: [{intent: crash}, {action: action_crash}]
- rule: start
  steps: [{intent: request_return}, {action: return_form}, {active_loop: return_form}]
- rule: submit
  condition: [{active_loop: return_form}]
  steps: [{action: return_form}, {active_loop: null}, {action: utter_registered}]
"""
ACTIONS = """
from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection


class CheckOrder(Action):
    def name(self):
        return "action_check_order"

    def run(self, dispatcher, tracker, domain):
        seen = [e["event"] for e in tracker.events]
        dispatcher.utter_message(text=f"Checked after {len(seen)} events; latest intent "
                                      f"{tracker.latest_message['intent']['name']}.")
        dispatcher.utter_message(response="utter_done", order="ORD-1")
        return [SlotSet("order_status", "shipped")]


class RejectMe(Action):
    def name(self):
        return "action_reject_me"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name(), "not now")


class Crash(Action):
    def name(self):
        return "action_crash"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("boom")


class ValidateReturnForm(FormValidationAction):
    def name(self):
        return "validate_return_form"

    def validate_order_id(self, slot_value, dispatcher, tracker, domain):
        if str(slot_value).upper().startswith("ORD-"):
            return {"order_id": str(slot_value).upper()}
        dispatcher.utter_message(text="That is not an order number.")
        return {"order_id": None}
"""
INTENTS = {"check": "check", "return": "request_return", "trouble": "trouble", "crash": "crash"}


def parse(text: str) -> dict:
    intent = INTENTS.get(text, "inform")
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": [],
    }


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory) -> Path:
    root = write_bot(tmp_path_factory.mktemp("b") / "bot", domain=DOMAIN, nlu=None, rules=RULES)
    (root / "actions").mkdir()
    (root / "actions" / "actions.py").write_text(ACTIONS)
    return root


@pytest.fixture(scope="module")
def action_server(bot_dir):
    """The real rasa-sdk server (`python -m rasa_sdk`) serving the bot's actions package."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
        cwd=bot_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(bot_dir)},
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(f"{url}/health", proc, "rasa-sdk server")
    yield f"{url}/webhook"
    proc.terminate()
    proc.wait(10)


def make_processor(bot_dir: Path, server) -> MessageProcessor:
    bot = load_bot(bot_dir)
    rule = RulePolicy()
    rule.train(TrainingData.compile(bot.stories, bot.rules, bot.domain))
    return MessageProcessor(
        bot.domain,
        as_parser(parse),
        PolicyEnsemble([rule], bot.config.policy),
        InMemoryTrackerStore(),
        ResponseGenerator(bot.domain, random.Random(0)),
        ActionRegistry(bot.domain, server),
    )


def chat(processor, texts, sender="u"):
    async def go():
        return [await processor.handle_message(UserMessage(t, sender)) for t in texts]

    return asyncio.run(go())


@pytest.fixture(params=["http", "in-process"])
def processor(request, bot_dir, tmp_path):
    if request.param == "http":
        return make_processor(bot_dir, HttpActionServer(request.getfixturevalue("action_server")))
    return make_processor(bot_dir, InProcessActionServer(bot_dir / "actions"))


def test_action_round_trip_with_responses_and_slot_events(processor):
    (turn,) = chat(processor, ["check"])
    texts = [m["text"] for m in turn.messages]
    # the server saw our tracker (session start, listen, user = 4 events) and the parsed intent
    assert texts == ["Checked after 4 events; latest intent check.", "Done with ORD-1."]
    assert turn.slots["order_status"] == "shipped"
    assert any(isinstance(e, SlotSet) and e.name == "order_status" for e in turn.events)


def test_rejection_lets_another_rule_answer(processor):
    (turn,) = chat(processor, ["trouble"])
    assert any(isinstance(e, ActionExecutionRejected) and e.name == "action_reject_me" for e in turn.events)
    assert "action_reject_me" not in [e.name for e in turn.events if isinstance(e, ActionExecuted)]
    assert [m["text"] for m in turn.messages] == ["Something else then."]


def test_crashing_action_gives_a_clear_fallback_and_the_bot_stays_up(processor):
    crash, check = chat(processor, ["crash", "check"])
    assert crash.messages[0]["text"].startswith("Sorry, something went wrong")
    assert any("action_crash" in w and "500" in w for w in crash.warnings)
    assert check.messages  # the next turn works


def test_form_validation_action_checks_and_normalises_slots(processor):
    start, bad, good = chat(processor, ["return", "my parcel", "ord-77"])
    assert [m["text"] for m in start.messages] == ["Which order?"]
    assert [m["text"] for m in bad.messages] == ["That is not an order number.", "Which order?"]
    assert bad.slots["order_id"] is None
    assert [m["text"] for m in good.messages] == ["Return for ORD-77 registered."]


def test_unreachable_action_server_is_reported_not_fatal(bot_dir):
    processor = make_processor(bot_dir, HttpActionServer(f"http://127.0.0.1:{free_port()}/webhook", timeout=2))
    (turn,) = chat(processor, ["check"])
    assert turn.messages[0]["text"].startswith("Sorry, something went wrong")
    assert any("cannot reach" in w for w in turn.warnings)


NLU = """
version: "3.1"
nlu:
- intent: check
  examples: |
    - check my order
    - what is the status of my order
    - check it
- intent: trouble
  examples: |
    - I have trouble
    - something is wrong
    - there is a problem
"""


def test_actions_code_travels_in_the_model_and_runs_in_process(bot_dir, tmp_path):
    import shutil
    import tarfile

    from agent.runtime import Agent
    from agent.train import train_bot
    from tests.helpers.tiny_model import make_tiny_bert

    src = tmp_path / "bot"
    shutil.copytree(bot_dir, src)
    (src / "data" / "nlu.yml").write_text(NLU)
    encoder = make_tiny_bert(tmp_path / "enc", NLU.split())
    outcome = train_bot(src, tmp_path / "models", base_model=str(encoder), max_epochs=2)
    with tarfile.open(outcome.path) as tar:
        assert "actions/actions.py" in tar.getnames()
    shutil.rmtree(src)  # serving must not need the bot folder
    agent = Agent.load(outcome.path)
    assert isinstance(agent.processor.actions.server, InProcessActionServer)

    async def go():
        return await agent.handle_text("/check", "x")

    turn = asyncio.run(go())
    assert turn.messages[0]["text"].startswith("Checked after 4 events")
    assert turn.slots["order_status"] == "shipped"


@pytest.mark.parametrize("window", [100, None])
def test_action_servers_get_a_bounded_window_of_events_unless_configured_for_all(bot_dir, tmp_path, window):
    """A long conversation sends the latest 100 events by default; `tracker_events: all` sends the
    whole history, read back from the store even after a restart loaded it from a snapshot."""
    from agent.stores.sqlite_store import SQLiteTrackerStore

    def processor_on(store):
        made = make_processor(bot_dir, InProcessActionServer(bot_dir / "actions"))
        made.store = store
        made.actions.events_window = window
        return made

    async def go():
        store = SQLiteTrackerStore(tmp_path / "c.db")
        first = processor_on(store)
        for _ in range(40):
            last = await first.handle_message(UserMessage("check", "long"))
        await store.close()
        restarted = SQLiteTrackerStore(tmp_path / "c.db")  # loads a snapshot plus a tail
        again = await processor_on(restarted).handle_message(UserMessage("check", "long"))
        stored = len(await restarted.events("long"))
        await restarted.close()
        return last, again, stored

    last, again, stored = asyncio.run(go())
    seen = [int(m["text"].split()[2]) for m in (last.messages[0], again.messages[0])]
    if window is None:
        assert stored > 200 and seen[1] == stored - len(again.events) + 1  # all stored before the turn, and its message
    else:
        assert seen == [100, 100]


@pytest.mark.parametrize(
    "value, expected", [("", 100), ("  tracker_events: 20\n", 20), ("  tracker_events: all\n", None)]
)
def test_endpoints_yml_sets_the_events_window(tmp_path, value, expected):
    from agent.bot.endpoints import load_endpoints

    path = tmp_path / "endpoints.yml"
    path.write_text(f"action_endpoint:\n  url: http://localhost:5055/webhook\n{value}")
    assert load_endpoints(path).action_events == expected


@pytest.mark.parametrize("value", ["0", "-3", "lots", "true"])
def test_a_bad_events_window_names_its_line(tmp_path, value):
    from agent.bot.endpoints import load_endpoints
    from agent.errors import AgentError

    path = tmp_path / "endpoints.yml"
    path.write_text(f"action_endpoint:\n  url: http://localhost:5055/webhook\n  tracker_events: {value}\n")
    with pytest.raises(AgentError, match=f"{path.name}:3.*tracker_events"):
        load_endpoints(path)
