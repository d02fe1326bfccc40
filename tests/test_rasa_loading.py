"""Loading refuses only what Rasa refuses: what `rasa train` trains with loads (with a warning), and
`agent data validate` stays as strict as `rasa data validate`."""

from __future__ import annotations

import pytest

from agent.bot.project import load_bot
from agent.cli.main import main
from agent.errors import Problems
from tests.helpers.bot_factory import line_of, only_problem, write_bot

DOMAIN = """
version: "3.1"
intents: [greet, book]
entities: [city]
slots:
  city:
    type: text
    mappings:
      - type: from_text
        entity: city
        conditions:
          - active_loop: booking_form
            requested_slot: city
      - type: from_entity
        entity: city
        conditions:
          - active_loop: an_undeclared_form
forms:
  booking_form:
    required_slots: [city]
responses:
  utter_greet: [{text: "Hello!"}]
"""

NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
- intent: book
  examples: |
    - book a trip
- intent: out_of_scope
  examples: |
    - what is the meaning of life
- intent: chitchat
  examples: |
    - how are you
- intent: book
  examples: |
    - to [Paris](town)
"""


@pytest.fixture
def bot_dir(tmp_path):
    return write_bot(tmp_path / "bot", domain=DOMAIN, nlu=NLU)


def test_what_rasa_trains_with_loads_with_warnings(bot_dir):
    problems = Problems()
    load_bot(bot_dir, problems)  # strict: raises on any error
    assert problems.errors == []
    extra = only_problem(problems, code="W105")  # `entity:` means nothing in a from_text mapping
    assert extra.line == line_of(DOMAIN, "entity: city") and "from_text" in extra.message
    assert only_problem(problems, code="W204").message.startswith("intent 'chitchat'")
    assert only_problem(problems, code="W205").message.startswith("entity 'town'")
    assert "an_undeclared_form" in only_problem(problems, code="W106").message
    # Rasa's built-in intents belong to every domain: their examples need no declaration
    assert not any("out_of_scope" in p.message for p in problems.items)
    assert "utter_ask_city" in only_problem(problems, code="W107").hint


def test_validate_fails_where_rasa_data_validate_does_and_train_would_not(bot_dir, capsys):
    assert main(["data", "validate", str(bot_dir)]) == 1
    err = capsys.readouterr().err
    assert "W204" in err and "W205" in err and "W106" in err


CONFLICTING_STORIES = """
version: "3.1"
stories:
- story: greet back
  steps:
  - intent: greet
  - action: utter_greet
- story: greet and book
  steps:
  - intent: greet
  - action: utter_ask_city
"""


def test_validate_reports_story_structure_conflicts(tmp_path, capsys):
    domain = DOMAIN.replace(
        'utter_greet: [{text: "Hello!"}]', 'utter_greet: [{text: "Hello!"}]\n  utter_ask_city: [{text: "Where to?"}]'
    )
    root = write_bot(
        tmp_path / "c", domain=domain, nlu=NLU.split("- intent: out_of_scope")[0], stories=CONFLICTING_STORIES
    )
    assert main(["data", "validate", str(root)]) == 1
    err = capsys.readouterr().err
    assert "W302" in err and "intent 'greet'" in err and "'greet back' does utter_greet" in err
    load_bot(root)  # agent train would carry on
