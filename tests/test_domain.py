"""domain.yml: every Rasa 3.x feature is read, and every mistake names its file and line."""

from __future__ import annotations

import pytest

from agent.bot.domain import Domain, parse_domain
from agent.bot.project import load_bot
from agent.bot.schema import Reader
from agent.bot.yaml_source import parse_yaml
from agent.errors import BotFileError, Problems
from tests.helpers.bot_factory import line_of, normalize, only_problem, same_file, write_bot

FULL_DOMAIN = """
version: "3.1"
intents:
  - greet
  - inform:
      use_entities:
        - city
  - chitchat:
      use_entities: []
  - book:
      ignore_entities:
        - amount
  - deny
  - faq
entities:
  - amount
  - city:
      roles:
        - departure
        - destination
  - topping:
      groups: ["1", "2"]
slots:
  name:
    type: text
    mappings:
      - type: from_text
        intent: inform
        not_intent: deny
        conditions:
          - active_loop: booking_form
            requested_slot: name
  logged_in:
    type: bool
    initial_value: false
    mappings:
      - type: from_intent
        intent: greet
        value: true
  size:
    type: categorical
    values:
      - small
      - large
      - yes
    mappings:
      - type: from_entity
        entity: topping
        group: "1"
  budget:
    type: float
    min_value: 10
    max_value: 500.5
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: amount
  cities:
    type: list
    mappings:
      - type: from_entity
        entity: city
        role: destination
        intent: [book, inform]
        not_intent: [deny]
  search_type:
    type: any
    mappings:
      - type: from_trigger_intent
        intent: book
        value: flight
  checked:
    type: any
    influence_conversation: true
    mappings:
      - type: custom
        action: action_check
        conditions:
          - active_loop: booking_form
  departure:
    type: text
    mappings:
      - type: from_entity
        entity: city
        role: departure
        conditions:
          - active_loop: booking_form
            requested_slot: departure
responses:
  utter_greet:
    - text: "Hi {name}!"
      condition:
        - type: slot
          name: logged_in
          value: true
    - text: "Hello!"
    - text: "Hello Slack user"
      channel: slack
  utter_ask_size:
    - text: "Which size?"
      buttons:
        - title: Small
          payload: '/inform{"size": "small"}'
        - title: Large
          payload: /inform
  utter_picture:
    - image: "https://example.com/cat.png"
      text: "A cat"
  utter_custom:
    - custom:
        blocks:
          - type: section
            text: hi
  utter_faq/ask_hours:
    - text: "We open at nine."
forms:
  booking_form:
    ignored_intents:
      - chitchat
    required_slots:
      - name
      - departure
actions:
  - action_check
  - validate_booking_form
session_config:
  session_expiration_time: 0
  carry_over_slots_to_new_session: false
"""


def _parse(text: str, file: str = "domain.yml") -> tuple[Domain, Problems]:
    problems = Problems()
    domain = parse_domain(parse_yaml(normalize(text), file), file, Reader(file, problems))
    return domain, problems


@pytest.fixture(scope="module")
def full() -> Domain:
    domain, problems = _parse(FULL_DOMAIN)
    assert problems.items == []
    return domain


def test_intents_and_entity_usage(full):
    assert list(full.intents) == ["greet", "inform", "chitchat", "book", "deny", "faq"]
    assert full.intents["greet"].use_entities is None
    assert full.intents["greet"].uses_entity("city")
    assert full.intents["inform"].use_entities == ["city"]
    assert full.intents["inform"].uses_entity("city") and not full.intents["inform"].uses_entity("amount")
    assert full.intents["chitchat"].use_entities == []
    assert not full.intents["chitchat"].uses_entity("city")
    assert full.intents["book"].ignore_entities == ["amount"]
    assert full.intents["book"].uses_entity("city") and not full.intents["book"].uses_entity("amount")
    assert full.intents["inform"].source == ("domain.yml", line_of(FULL_DOMAIN, "- inform:"))


def test_intent_names_include_retrieval_and_default_intents(full):
    assert full.knows_intent("faq/ask_hours")
    assert full.knows_intent("nlu_fallback") and full.knows_intent("restart")
    assert not full.knows_intent("unknown_intent")


def test_entities_with_roles_and_groups(full):
    assert list(full.entities) == ["amount", "city", "topping"]
    assert full.entities["amount"].roles == [] and full.entities["amount"].groups == []
    assert full.entities["city"].roles == ["departure", "destination"]
    assert full.entities["topping"].groups == ["1", "2"]


def test_slot_types_and_settings(full):
    slots = full.slots
    assert {n: s.type for n, s in slots.items()} == {
        "name": "text",
        "logged_in": "bool",
        "size": "categorical",
        "budget": "float",
        "cities": "list",
        "search_type": "any",
        "checked": "any",
        "departure": "text",
    }
    assert slots["logged_in"].initial_value is False
    assert slots["name"].initial_value is None
    # `yes` stays the text "yes" (YAML 1.2), it does not become True
    assert slots["size"].values == ["small", "large", "yes"]
    assert slots["budget"].min_value == 10.0 and slots["budget"].max_value == 500.5
    assert slots["name"].min_value == 0.0 and slots["name"].max_value == 1.0
    assert slots["budget"].source == ("domain.yml", line_of(FULL_DOMAIN, "  budget:"))


def test_influence_conversation_defaults(full):
    assert full.slots["name"].influence_conversation is True
    assert full.slots["logged_in"].influence_conversation is True
    assert full.slots["cities"].influence_conversation is True
    assert full.slots["search_type"].influence_conversation is False  # `any` defaults to false
    assert full.slots["checked"].influence_conversation is True  # explicit true on an `any` slot
    assert full.slots["budget"].influence_conversation is False  # explicit false


def test_from_text_mapping_with_conditions(full):
    (m,) = full.slots["name"].mappings
    assert m.type == "from_text"
    assert m.intent == ["inform"] and m.not_intent == ["deny"]
    assert len(m.conditions) == 1
    assert m.conditions[0].active_loop == "booking_form" and m.conditions[0].requested_slot == "name"
    assert m.source == ("domain.yml", line_of(FULL_DOMAIN, "- type: from_text"))


def test_from_intent_and_from_trigger_intent_mappings(full):
    (m,) = full.slots["logged_in"].mappings
    assert (m.type, m.intent, m.value) == ("from_intent", ["greet"], True)
    (t,) = full.slots["search_type"].mappings
    assert (t.type, t.intent, t.value) == ("from_trigger_intent", ["book"], "flight")


def test_from_entity_mappings_with_role_group_and_intents(full):
    (cities,) = full.slots["cities"].mappings
    assert cities.type == "from_entity" and cities.entity == "city" and cities.role == "destination"
    assert cities.group is None
    assert cities.intent == ["book", "inform"] and cities.not_intent == ["deny"]
    (size,) = full.slots["size"].mappings
    assert size.entity == "topping" and size.group == "1" and size.role is None
    (dep,) = full.slots["departure"].mappings
    assert dep.role == "departure"
    assert [(c.active_loop, c.requested_slot) for c in dep.conditions] == [("booking_form", "departure")]


def test_custom_mapping_with_action_and_condition_without_requested_slot(full):
    (m,) = full.slots["checked"].mappings
    assert m.type == "custom" and m.action == "action_check"
    assert [(c.active_loop, c.requested_slot) for c in m.conditions] == [("booking_form", None)]


def test_responses_variations_conditions_channels(full):
    greet = full.responses["utter_greet"]
    assert [v.text for v in greet] == ["Hi {name}!", "Hello!", "Hello Slack user"]
    cond = greet[0].condition
    assert [(c.type, c.name, c.value) for c in cond] == [("slot", "logged_in", True)]
    assert greet[1].condition == [] and greet[1].channel is None
    assert greet[2].channel == "slack"
    assert greet[2].source == ("domain.yml", line_of(FULL_DOMAIN, "Hello Slack user"))


def test_responses_buttons_image_custom(full):
    (ask,) = full.responses["utter_ask_size"]
    assert [(b.title, b.payload) for b in ask.buttons] == [("Small", '/inform{"size": "small"}'), ("Large", "/inform")]
    (pic,) = full.responses["utter_picture"]
    assert pic.image == "https://example.com/cat.png" and pic.text == "A cat"
    (custom,) = full.responses["utter_custom"]
    assert custom.text is None
    assert custom.custom == {"blocks": [{"type": "section", "text": "hi"}]}
    assert type(custom.custom) is dict  # line information stripped


def test_retrieval_responses_and_action_names(full):
    assert "utter_faq/ask_hours" in full.responses
    assert full.knows_action("utter_faq")  # a retrieval response is run by its parent name
    assert full.knows_action("booking_form") and full.knows_action("action_check")
    assert full.knows_action("action_listen")
    assert not full.knows_action("utter_missing")
    names = full.action_names
    assert names.index("action_listen") < names.index("utter_greet")
    assert "validate_booking_form" in names and "booking_form" in names


def test_forms_and_actions(full):
    form = full.forms["booking_form"]
    assert form.required_slots == ["name", "departure"]
    assert form.ignored_intents == ["chitchat"]
    assert form.source == ("domain.yml", line_of(FULL_DOMAIN, "booking_form:"))
    assert full.actions == ["action_check", "validate_booking_form"]


def test_session_config(full):
    assert full.session_config.session_expiration_time == 0.0
    assert full.session_config.carry_over_slots_to_new_session is False


def test_session_config_defaults():
    domain, problems = _parse("intents: [greet]\n")
    assert problems.items == []
    assert domain.session_config.session_expiration_time == 60.0
    assert domain.session_config.carry_over_slots_to_new_session is True
    assert domain.store_entities_as_slots is True


def test_domain_config_store_entities_as_slots():
    domain, problems = _parse("config:\n  store_entities_as_slots: false\n")
    assert problems.errors == []
    assert domain.store_entities_as_slots is False


def test_full_domain_loads_as_a_bot(tmp_path):
    nlu = """
    nlu:
    - intent: greet
      examples: |
        - hi
    - intent: inform
      examples: |
        - from [Berlin]{"entity": "city", "role": "departure"}
    - intent: chitchat
      examples: |
        - how are you
    - intent: book
      examples: |
        - book [two](topping) for [30 euros](amount)
    - intent: deny
      examples: |
        - no
    - intent: faq/ask_hours
      examples: |
        - when do you open
    """
    bot = load_bot(write_bot(tmp_path / "bot", domain=FULL_DOMAIN, nlu=nlu))
    assert bot.problems.errors == []
    assert set(bot.domain.slots) == {
        "name",
        "logged_in",
        "size",
        "budget",
        "cities",
        "search_type",
        "checked",
        "departure",
    }


# ---------------------------------------------------------------- errors


def _load_errors(tmp_path, domain: str) -> tuple[Problems, object]:
    root = write_bot(tmp_path / "bot", domain=domain, nlu=None)
    problems = Problems()
    with pytest.raises(BotFileError):
        load_bot(root, problems)
    return problems, root / "domain.yml"


# One row per mistake: domain.yml, the code of the one error it holds at `line`, and a part of its hint.
LOAD_ERRORS = [
    pytest.param(
        """
        version: "3.1"
        intents:
          - greet
        respones:
          utter_greet:
            - text: hi
        """,
        "E001",
        4,
        "did you mean 'responses'",
        id="unknown top-level key",
    ),
    pytest.param(
        """
        intents: [greet]
        slots:
          name:
            type: text
            auto_fill: false
            mappings:
              - type: from_text
        """,
        "E001",
        5,
        "",
        id="unknown key in a slot",
    ),
    pytest.param(
        """
        intents: [greet]
        responses:
          utter_greet:
            - text: hi
            - text: hello
              chanel: slack
        """,
        "E001",
        6,
        "channel",
        id="unknown key in a response variation",
    ),
    pytest.param(
        """
        intents: [greet]
        entities: [city]
        slots:
          city:
            type: text
            mappings:
              - type: from_entity
                entity: city
              - type: from_llm
        """,
        "E108",
        9,
        "from_entity, from_intent, from_trigger_intent, from_text, custom",
        id="unknown mapping type",
    ),
    pytest.param(
        """
        intents: [greet]
        slots:
          city:
            type: text
            mappings:
              - type: from_text
                entity: city
        """,
        "W105",
        7,
        "allowed keys: type, intent, not_intent, conditions",
        id="a key a mapping of that type does not use only warns (Rasa ignores it)",
    ),
    pytest.param(
        """
        intents: [greet]
        slots:
          ok:
            type: text
            mappings: [{type: from_text}]
          city:
            type: text
            influence_conversation: false
        """,
        "E105",
        6,
        "mappings:",
        id="slot without mappings",
    ),
    pytest.param(
        """
        intents: [greet]
        slots:
          count:
            mappings: [{type: custom}]
            type: integer
        """,
        "E104",
        5,
        "text, bool, categorical, float, list, any",
        id="unknown slot type",
    ),
    pytest.param(
        """
        intents: [greet, inform]
        entities: [city]
        slots:
          city:
            type: text
            mappings: [{type: from_entity, entity: city}]
        forms:
          travel_form:
            required_slots:
              city:
                - type: from_entity
                  entity: city
        """,
        "E115",
        9,
        "list slot names",
        id="Rasa 2 form required_slots mapping",
    ),
    pytest.param(
        """
        intents: [greet]
        forms:
          travel_form:
            required_slots:
              - city
        """,
        "E119",
        3,
        "",
        id="form requires an undeclared slot",
    ),
    pytest.param(
        """
        intents: [greet]
        responses:
          utter_greet:
            - text: hi vip
              condition:
                - type: slot
                  name: vip
                  value: true
            - text: hi
        """,
        "E120",
        4,
        "",
        id="response condition on an undeclared slot",
    ),
]


@pytest.mark.parametrize("domain,code,line,hint", LOAD_ERRORS)
def test_a_domain_mistake_is_an_error_with_its_code_file_and_line(tmp_path, domain, code, line, hint):
    problems, path = _load_errors(tmp_path, domain)
    p = only_problem(problems, code=code)
    assert p.line == line
    assert same_file(p.file, path)
    assert hint in p.hint


MAPPINGS_WITHOUT_ENTITY_OR_VALUE = """
intents: [greet]
slots:
  a:
    type: text
    mappings:
      - type: from_entity
  b:
    type: bool
    mappings:
      - type: from_intent
        intent: greet
"""

# Parsed alone (no other file of a bot): domain.yml, the code of the problem and its line.
PARSE_PROBLEMS = [
    pytest.param(MAPPINGS_WITHOUT_ENTITY_OR_VALUE, "E109", 6, id="from_entity without entity"),
    pytest.param(MAPPINGS_WITHOUT_ENTITY_OR_VALUE, "E110", 10, id="from_intent without value"),
    pytest.param(
        "slots:\n  size:\n    type: categorical\n    mappings: [{type: custom}]\n",
        "E106",
        2,
        id="categorical slot without values",
    ),
]


@pytest.mark.parametrize("text,code,line", PARSE_PROBLEMS)
def test_a_domain_problem_has_its_code_and_line(text, code, line):
    _, problems = _parse(text)
    assert only_problem(problems, code=code).line == line


def test_custom_slot_class_path_is_accepted():
    domain, problems = _parse("slots:\n  x:\n    type: addons.MySlot\n    mappings: [{type: custom}]\n")
    assert problems.errors == []
    assert domain.slots["x"].type == "addons.MySlot"


def test_unfeaturized_slot_is_a_warning_and_reads_as_any():
    domain, problems = _parse("slots:\n  x:\n    type: unfeaturized\n    mappings: [{type: custom}]\n")
    assert problems.errors == []
    w = only_problem(problems, code="W101")
    assert w.line == 2
    assert domain.slots["x"].type == "any" and domain.slots["x"].influence_conversation is False


def test_several_errors_are_all_reported(tmp_path):
    domain = """
    intent: [greet]
    slots:
      a:
        type: txt
        mappings: [{type: from_text}]
      b:
        type: text
    """
    problems, _ = _load_errors(tmp_path, domain)
    found = {(p.code, p.line) for p in problems.errors}
    assert {("E001", 1), ("E104", 4), ("E105", 6)} <= found  # intent:, type: txt, slot b without mappings


# ---------------------------------------------------------------- domain directory


def test_domain_directory_files_are_merged(tmp_path):
    files = {
        "intents.yml": """
            version: "3.1"
            intents:
              - greet
              - inform
            entities:
              - city
            """,
        "slots.yml": """
            slots:
              city:
                type: text
                mappings:
                  - type: from_entity
                    entity: city
            forms:
              city_form:
                required_slots: [city]
            session_config:
              session_expiration_time: 15
            """,
        "sub/responses.yml": """
            intents:
              - bye
            responses:
              utter_greet:
                - text: Hello!
              utter_ask_city:
                - text: Which city?
            actions:
              - action_lookup
            """,
    }
    nlu = """
    nlu:
    - intent: greet
      examples: |
        - hi
    - intent: inform
      examples: |
        - [Paris](city)
    - intent: bye
      examples: |
        - bye
    """
    rules = """
    rules:
    - rule: greet
      steps:
      - intent: greet
      - action: utter_greet
      - action: city_form
      - active_loop: city_form
      - action: action_lookup
    """
    bot = load_bot(write_bot(tmp_path / "bot", domain=files, nlu=nlu, rules=rules))
    d = bot.domain
    assert list(d.intents) == ["greet", "inform", "bye"]
    assert list(d.entities) == ["city"]
    assert list(d.slots) == ["city"]
    assert set(d.responses) == {"utter_greet", "utter_ask_city"}
    assert d.forms["city_form"].required_slots == ["city"]
    assert d.actions == ["action_lookup"]
    assert d.session_config.session_expiration_time == 15.0
    assert len(bot.rules) == 1
    # each part keeps its own file for error messages
    assert d.slots["city"].source[0].endswith("slots.yml")
    assert d.intents["bye"].source[0].endswith("responses.yml")


def test_error_in_a_domain_directory_names_that_file(tmp_path):
    files = {
        "a.yml": "intents:\n  - greet\n",
        "b.yml": "slots:\n  x:\n    type: text\n",
    }
    root = write_bot(tmp_path / "bot", domain=files)
    problems = Problems()
    with pytest.raises(BotFileError):
        load_bot(root, problems)
    p = only_problem(problems, code="E105")
    assert same_file(p.file, root / "domain" / "b.yml")
    assert p.line == 2
