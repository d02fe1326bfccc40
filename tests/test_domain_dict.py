"""rasa_domain_dict: the parsed Domain in Rasa 3.x's format, for domain.json and the action server.
It round-trips through parse_domain, and nothing (training, validation) edits a copy of the sources."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from types import MappingProxyType

import pytest

from agent.bot.domain import Domain, parse_domain
from agent.bot.domain_dict import rasa_domain_dict
from agent.bot.project import load_bot
from agent.bot.schema import Reader
from agent.bot.validate import validate_bot
from agent.bot.yaml_source import parse_yaml
from agent.errors import Problems
from tests.helpers.bot_factory import normalize, write_bot
from tests.helpers.shared import SHARED, requires_shared

REPO = Path(__file__).resolve().parents[1]
RASA_EXAMPLES = ("benchmarks", "rasa_examples")
BOTS = [
    pytest.param(REPO / "domains" / "ecommerce", id="ecommerce"),
    pytest.param(REPO / "domains" / "ecommerce_zh", id="ecommerce_zh"),
    *[
        pytest.param(SHARED.joinpath(*RASA_EXAMPLES, name), id=name, marks=requires_shared(*RASA_EXAMPLES, name))
        for name in ("moodbot", "financial-demo", "helpdesk-assistant")
    ],
]

EVERYTHING = """
version: "3.1"
intents:
  - greet
  - inform:
      use_entities: [city]
  - chitchat:
      use_entities: false
  - book:
      ignore_entities: [amount]
entities:
  - amount
  - city:
      roles: [departure, destination]
  - topping:
      groups: ["1", "2"]
slots:
  name:
    type: text
    initial_value: Ann
    mappings:
      - type: from_text
        intent: inform
        not_intent: [chitchat]
        conditions:
          - active_loop: booking_form
            requested_slot: name
          - active_loop: null
  size:
    type: categorical
    values: [small, large, yes]
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: topping
        group: "1"
  budget:
    type: float
    min_value: 10
    max_value: 500.5
    mappings:
      - type: from_entity
        entity: amount
  trip:
    type: list
    mappings:
      - type: from_entity
        entity: city
        role: destination
  kind:
    type: any
    mappings:
      - type: from_trigger_intent
        intent: book
        value: {mode: flight}
  happy:
    type: bool
    mappings:
      - type: from_intent
        intent: greet
        value: null
  checked:
    type: any
    influence_conversation: true
    mappings:
      - type: custom
        action: action_check
responses:
  utter_greet:
    - text: "Hi {name}!"
      condition:
        - type: slot
          name: happy
          value: true
      id: greet_1
      metadata: {rephrase: true}
    - text: "Bonjour"
      language: fr
      channel: slack
  utter_ask_size:
    - text: "Which size?"
      button_type: vertical
      buttons:
        - title: Small
          payload: '/inform{"size": "small"}'
      quick_replies:
        - title: Large
          payload: /inform
  utter_media:
    - image: "https://example.com/cat.png"
      attachment: {type: video, url: "https://example.com/v.mp4"}
    - elements: [{title: card}]
    - custom: {blocks: [{type: section, text: hi}]}
  utter_nothing:
    - buttons: []
  utter_faq/ask_hours:
    - text: "We open at nine."
forms:
  booking_form:
    ignored_intents: [chitchat]
    required_slots: [name, size]
  empty_form: {}
actions:
  - action_check
e2e_actions:
  - "Have a nice day"
config:
  store_entities_as_slots: false
session_config:
  session_expiration_time: 0.5
  carry_over_slots_to_new_session: false
"""


def fields(value):
    """A dataclass tree as plain data, without `source` (where a definition was written, not what it is)."""
    if dataclasses.is_dataclass(value):
        return {f.name: fields(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "source"}
    if isinstance(value, dict):
        return {k: fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fields(v) for v in value]
    return value


def reparse(domain: Domain) -> tuple[Domain, Problems]:
    """What Agent.load does with the model's domain.json."""
    problems = Problems()
    data = json.loads(json.dumps(rasa_domain_dict(domain), ensure_ascii=False))
    return parse_domain(data, "domain.json", Reader("model:domain.json", problems)), problems


def assert_round_trip(domain: Domain) -> None:
    back, problems = reparse(domain)
    assert problems.items == []
    expected, got = fields(domain), fields(back)
    for key in expected:
        assert got[key] == expected[key], key


def test_every_field_round_trips():
    problems = Problems()
    domain = parse_domain(parse_yaml(normalize(EVERYTHING), "domain.yml"), "domain.yml", Reader("domain.yml", problems))
    assert problems.items == []
    assert domain.e2e_actions == ["Have a nice day"] and domain.store_entities_as_slots is False
    assert_round_trip(domain)


def test_the_dict_is_rasa_shaped():
    problems = Problems()
    domain = parse_domain(parse_yaml(normalize(EVERYTHING), "domain.yml"), "domain.yml", Reader("domain.yml", problems))
    d = rasa_domain_dict(domain)
    assert set(d) == {
        "version",
        "config",
        "session_config",
        "intents",
        "entities",
        "slots",
        "responses",
        "forms",
        "actions",
        "e2e_actions",
    }
    assert d["intents"][:3] == ["greet", {"inform": {"use_entities": ["city"]}}, {"chitchat": {"use_entities": []}}]
    assert d["entities"][1] == {"city": {"roles": ["departure", "destination"]}}
    assert d["slots"]["name"]["mappings"][0]["conditions"] == [
        {"active_loop": "booking_form", "requested_slot": "name"},
        {"active_loop": None},
    ]
    assert d["slots"]["budget"]["min_value"] == 10 and d["slots"]["budget"]["max_value"] == 500.5
    assert d["forms"]["booking_form"] == {"required_slots": ["name", "size"], "ignored_intents": ["chitchat"]}
    assert d["forms"]["empty_form"] == {"required_slots": []}
    assert d["config"] == {"store_entities_as_slots": False}
    assert d["session_config"] == {"session_expiration_time": 0.5, "carry_over_slots_to_new_session": False}
    # a fresh copy: editing it leaves the Domain alone
    d["slots"]["kind"]["mappings"][0]["value"]["mode"] = "train"
    d["responses"]["utter_greet"][0]["metadata"]["rephrase"] = False
    assert domain.slots["kind"].mappings[0].value == {"mode": "flight"}
    assert domain.responses["utter_greet"][0].metadata == {"rephrase": True}


@pytest.mark.parametrize("bot_dir", BOTS)
def test_example_bots_round_trip(bot_dir):
    assert_round_trip(load_bot(bot_dir).domain)


def test_domain_directory_merges_config_and_e2e_actions(tmp_path):
    files = {
        "a.yml": """
            intents: [greet]
            config:
              store_entities_as_slots: false
            e2e_actions: ["Hi there"]
            """,
        "b.yml": """
            session_config:
              session_expiration_time: 5
            e2e_actions: ["Hi there", "Bye"]
            responses:
              utter_greet:
                - text: Hello!
            """,
    }
    bot = load_bot(write_bot(tmp_path / "bot", domain=files))
    d = rasa_domain_dict(bot.domain)
    assert d["config"] == {"store_entities_as_slots": False}
    assert d["session_config"]["session_expiration_time"] == 5
    assert d["e2e_actions"] == ["Hi there", "Bye"]
    assert_round_trip(bot.domain)


def test_responses_from_data_files_are_in_the_dict(tmp_path):
    root = write_bot(tmp_path / "bot")
    (root / "data" / "responses.yml").write_text('responses:\n  utter_bye:\n    - text: "Bye!"\n')
    bot = load_bot(root)
    assert rasa_domain_dict(bot.domain)["responses"]["utter_bye"] == [{"text": "Bye!"}]


def test_model_domain_json_parses_to_the_trained_domain(trained_shopbot):
    from agent.model.artifact import open_artifact

    problems = Problems()
    data = open_artifact(trained_shopbot.path).read_json("domain.json")
    assert data == rasa_domain_dict(trained_shopbot.bot.domain)
    domain = parse_domain(data, "domain.json", Reader("model:domain.json", problems))
    assert problems.items == []
    assert fields(domain) == fields(trained_shopbot.bot.domain)


BAD_NLU = """
nlu:
- intent: greet
  examples: |
    - hello
- intent: undeclared
  examples: |
    - one [Paris](city)
    - two [Rome](city)
"""


def test_validation_leaves_the_domain_unchanged(tmp_path):
    problems = Problems()
    bot = load_bot(write_bot(tmp_path / "bot", nlu=BAD_NLU), problems, strict=False)
    undeclared = [p.message for p in problems.items if p.code in ("W204", "W205")]
    assert sum("'undeclared'" in m for m in undeclared) == 1  # once per name, as before
    assert sum("'city'" in m for m in undeclared) == 1
    assert "undeclared" not in bot.domain.intents and "city" not in bot.domain.entities
    before = copy.deepcopy(bot.domain)
    validate_bot(bot, Problems())
    assert bot.domain == before
    # not even for a while: validation runs on a domain whose tables cannot be written
    frozen = copy.copy(bot.domain)
    for name in ("intents", "entities", "slots", "responses", "forms"):
        setattr(frozen, name, MappingProxyType(getattr(frozen, name)))
    frozen.actions = tuple(frozen.actions)
    again = Problems()
    validate_bot(dataclasses.replace(bot, domain=frozen), again)
    assert [p.message for p in again.items] == [p.message for p in problems.items]


@pytest.mark.parametrize("bot_dir", [REPO / "domains" / "ecommerce"], ids=["ecommerce"])
def test_validating_an_example_bot_again_changes_nothing(bot_dir):
    bot = load_bot(bot_dir)
    before = copy.deepcopy(bot.domain)
    validate_bot(bot, Problems())
    assert bot.domain == before
