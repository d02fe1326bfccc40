"""Stories, rules and test stories: every step kind, and declaration errors with file:line."""

from __future__ import annotations

import pytest

from agent.bot.project import load_bot, load_test_stories
from agent.bot.stories import (
    ANY_VALUE,
    ActionStep,
    ActiveLoopStep,
    CheckpointStep,
    OrStep,
    SlotStep,
    StoryBlock,
    UserStep,
)
from agent.errors import BotFileError, Problems
from tests.helpers.bot_factory import line_of, normalize, only_problem, same_file, write_bot

DOMAIN = """
version: "3.1"
intents:
  - greet
  - inform
  - affirm
  - thankyou
  - deny
  - book
entities:
  - city:
      roles: [departure, destination]
  - account
slots:
  city:
    type: text
    mappings:
      - type: from_entity
        entity: city
  confirmed:
    type: bool
    mappings:
      - type: custom
  seats:
    type: float
    mappings:
      - type: custom
forms:
  booking_form:
    required_slots: [city]
responses:
  utter_greet:
    - text: Hello!
  utter_noworries:
    - text: No worries.
  utter_ask_city:
    - text: Which city?
actions:
  - action_book
"""

NLU = """
nlu:
- intent: greet
  examples: |
    - hi
- intent: inform
  examples: |
    - [Paris](city)
    - account [savings](account)
- intent: affirm
  examples: |
    - yes
- intent: thankyou
  examples: |
    - thanks
- intent: deny
  examples: |
    - no
- intent: book
  examples: |
    - book a trip
"""

STORIES = """
version: "3.1"
stories:
- story: book a trip
  metadata:
    author: test
  steps:
  - intent: greet
  - action: utter_greet
  - user: "fly from Paris to Rome"
    intent: book
    entities:
    - city: Paris
    - account
    - city: Rome
      role: destination
  - action: booking_form
  - active_loop: booking_form
  - slot_was_set:
    - city: Rome
    - confirmed
  - slot_was_set:
    - seats: 2
  - active_loop: null
  - bot: "Booked!"
  - action: action_book
  - checkpoint: booked
- story: after booking
  steps:
  - checkpoint: booked
    slot_was_set:
    - confirmed: true
  - or:
    - intent: thankyou
    - intent: affirm
    - slot_was_set:
      - city: Paris
  - action: utter_noworries
- story: end to end text only
  steps:
  - user: |
      hello there
  - bot: Hello!
"""

RULES = """
version: "3.1"
rules:
- rule: greet at the start
  conversation_start: true
  steps:
  - intent: greet
  - action: utter_greet
- rule: submit the form
  condition:
  - active_loop: booking_form
  - slot_was_set:
    - confirmed: true
  steps:
  - action: booking_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: action_book
  wait_for_user_input: false
- rule: ask with an or
  steps:
  - or:
    - intent: deny
    - intent: affirm
  - action: utter_noworries
"""


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    root = write_bot(tmp_path_factory.mktemp("stories") / "bot", domain=DOMAIN, nlu=NLU, stories=STORIES, rules=RULES)
    loaded = load_bot(root)
    assert loaded.problems.errors == []
    return loaded


def _story(bot, name: str) -> StoryBlock:
    (block,) = [b for b in [*bot.stories, *bot.rules] if b.name == name]
    return block


def test_blocks_are_read_with_file_and_line(bot):
    assert [b.name for b in bot.stories] == ["book a trip", "after booking", "end to end text only"]
    assert [b.name for b in bot.rules] == ["greet at the start", "submit the form", "ask with an or"]
    story = _story(bot, "book a trip")
    assert story.kind == "story"
    assert story.file.endswith("stories.yml")
    assert story.line == line_of(STORIES, "- story: book a trip")
    assert story.metadata == {"author": "test"}
    assert _story(bot, "submit the form").line == line_of(RULES, "- rule: submit the form")


def test_story_entities_read_as_rasas_story_reader_reads_them(tmp_path):
    """Every key but role/group names the entity: `- entity: city` is an entity called `entity`."""
    from agent.bot.schema import Reader
    from agent.bot.stories import parse_blocks
    from agent.bot.yaml_source import parse_yaml
    from agent.errors import Problems

    text = normalize("""
    stories:
    - story: s
      steps:
      - intent: book
        entities:
        - entity: city
        - city: Rome
          group: 1
        - role: destination
    """)
    problems = Problems()
    data = parse_yaml(text, "stories.yml")
    (block,) = parse_blocks(data["stories"], "story", Reader("stories.yml", problems), 1)
    assert block.steps[0].entities == [
        {"entity": "entity", "value": "city"},
        {"entity": "city", "value": "Rome", "group": 1},
    ]
    assert [p.code for p in problems.items] == ["E313"]


def test_user_step_with_entities_in_all_three_forms(bot):
    steps = _story(bot, "book a trip").steps
    assert steps[0] == UserStep("greet", [], None, line_of(STORIES, "- intent: greet"))
    user = steps[2]
    assert isinstance(user, UserStep)
    assert user.intent == "book" and user.text == "fly from Paris to Rome"
    assert user.entities == [
        {"entity": "city", "value": "Paris"},
        {"entity": "account"},
        {"entity": "city", "value": "Rome", "role": "destination"},
    ]
    assert user.line == line_of(STORIES, '- user: "fly from Paris')


def test_action_bot_and_loop_steps(bot):
    steps = _story(bot, "book a trip").steps
    assert steps[1] == ActionStep("utter_greet", line=line_of(STORIES, "- action: utter_greet"))
    assert steps[3] == ActionStep("booking_form", line=line_of(STORIES, "- action: booking_form"))
    assert steps[4] == ActiveLoopStep("booking_form", line_of(STORIES, "- active_loop: booking_form"))
    assert steps[7] == ActiveLoopStep(None, line_of(STORIES, "- active_loop: null"))
    assert steps[8] == ActionStep(None, bot_text="Booked!", line=line_of(STORIES, '- bot: "Booked!"'))
    assert isinstance(steps[9], ActionStep) and steps[9].action == "action_book"


def test_slot_was_set_with_values_and_bare_names(bot):
    steps = _story(bot, "book a trip").steps
    assert steps[5] == SlotStep({"city": "Rome", "confirmed": ANY_VALUE}, line_of(STORIES, "- slot_was_set:"))
    assert steps[6].slots == {"seats": 2}
    assert type(steps[5].slots["city"]) is str


def test_checkpoints_with_and_without_slots(bot):
    end = _story(bot, "book a trip").steps[-1]
    assert end == CheckpointStep("booked", {}, line_of(STORIES, "- checkpoint: booked"))
    start = _story(bot, "after booking").steps[0]
    assert isinstance(start, CheckpointStep)
    assert start.name == "booked" and start.slots == {"confirmed": True}


def test_or_step_alternatives(bot):
    step = _story(bot, "after booking").steps[1]
    assert isinstance(step, OrStep)
    assert step.line == line_of(STORIES, "- or:")
    a, b, c = step.alternatives
    assert (a.intent, b.intent) == ("thankyou", "affirm")
    assert isinstance(c, SlotStep) and c.slots == {"city": "Paris"}


def test_end_to_end_user_text_and_bot_text(bot):
    user, reply = _story(bot, "end to end text only").steps
    assert user.intent is None and user.text == "hello there"
    assert reply.action is None and reply.bot_text == "Hello!"


def test_rule_flags_and_condition(bot):
    greet = _story(bot, "greet at the start")
    assert greet.kind == "rule"
    assert greet.conversation_start is True and greet.wait_for_user_input is True
    assert greet.condition == []
    submit = _story(bot, "submit the form")
    assert submit.conversation_start is False
    assert submit.wait_for_user_input is False
    loop, slots = submit.condition
    assert loop == ActiveLoopStep("booking_form", line_of(RULES, "- active_loop: booking_form"))
    assert isinstance(slots, SlotStep) and slots.slots == {"confirmed": True}
    assert submit.steps[2].slots == {"requested_slot": None}
    assert isinstance(_story(bot, "ask with an or").steps[0], OrStep)


def test_raw_blocks_are_kept_for_the_artifact(bot):
    assert len(bot.raw_stories) == 1 and len(bot.raw_rules) == 1
    assert bot.raw_rules[0][0]["rule"] == "greet at the start"


# ---------------------------------------------------------------- errors


def _errors(tmp_path, stories: str | None = None, rules: str | None = None) -> tuple[Problems, object]:
    root = write_bot(tmp_path / "bot", domain=DOMAIN, nlu=NLU, stories=stories, rules=rules)
    problems = Problems()
    with pytest.raises(BotFileError):
        load_bot(root, problems)
    return problems, root / "data" / ("stories.yml" if stories else "rules.yml")


UNDECLARED_ACTIONS = """
stories:
- story: s
  steps:
  - intent: greet
  - action: utter_greeet
  - action: action_missing
"""
TWO_RULE_MISTAKES = """
rules:
- rule: r
  conversation_starts: true
  wait_for_user_input: "no"
  steps:
  - intent: greet
  - action: utter_greet
"""
NO_STEPS_AND_NO_NAME = """
stories:
- story: no steps
- steps:
  - intent: greet
"""

# One row per mistake: "stories" or "rules" (the file it is in), its text, the code of the error, its line,
# and the parts of its hint. A file holding two errors of one code has a row for each.
BLOCK_ERRORS = [
    pytest.param(
        "stories",
        """
        stories:
        - story: s
          steps:
          - intent: greet
          - action: utter_greet
          - intent: gret_again
          - action: utter_greet
        """,
        "E314",
        6,
        (),
        id="undeclared intent",
    ),
    pytest.param(
        "stories",
        UNDECLARED_ACTIONS,
        "E317",
        5,
        ("add a response 'utter_greeet' under `responses:`", "did you mean 'utter_greet'"),
        id="undeclared response",
    ),
    pytest.param("stories", UNDECLARED_ACTIONS, "E317", 6, ("under `actions:`",), id="undeclared action"),
    pytest.param(
        "stories",
        """
        stories:
        - story: s
          steps:
          - intent: inform
            entities:
            - town: Paris
          - action: utter_greet
        """,
        "E315",
        4,
        (),
        id="undeclared entity",
    ),
    pytest.param(
        "stories",
        """
        stories:
        - story: s
          steps:
          - intent: inform
          - slot_was_set:
            - cty: Paris
          - action: utter_greet
        """,
        "E316",
        5,
        ("did you mean 'city'",),
        id="undeclared slot",
    ),
    pytest.param(
        "rules",
        """
        rules:
        - rule: r
          condition:
          - slot_was_set:
            - vip: true
          steps:
          - intent: greet
          - action: utter_greet
        """,
        "E316",
        4,
        (),
        id="undeclared slot in a rule condition",
    ),
    pytest.param(
        "rules",
        """
        rules:
        - rule: r
          steps:
          - intent: book
          - action: utter_ask_city
          - active_loop: utter_ask_city
        """,
        "E318",
        6,
        (),
        id="active loop that is not a form",
    ),
    pytest.param(
        "stories",
        """
        stories:
        - story: s
          steps:
          - intent: greet
          - acton: utter_greet
        """,
        "E001",
        5,
        ("action",),
        id="unknown step key",
    ),
    pytest.param(
        "rules", "rules:\n- rule: r\n  steps:\n  - user: hello\n", "E305", 4, (), id="end-to-end user step in a rule"
    ),
    pytest.param(
        "rules", "rules:\n- rule: r\n  steps:\n  - bot: hi\n", "E305", 4, (), id="end-to-end bot step in a rule"
    ),
    pytest.param(
        "stories",
        """
        stories:
        - story: s
          steps:
          - intent: greet
          - action: utter_greet
            active_loop: booking_form
        """,
        "E308",
        5,
        (),
        id="step holding two kinds",
    ),
    pytest.param("rules", TWO_RULE_MISTAKES, "E001", 3, (), id="unknown key in a rule"),
    pytest.param("rules", TWO_RULE_MISTAKES, "E303", 4, (), id="flag that is not true or false"),
    pytest.param("stories", NO_STEPS_AND_NO_NAME, "E302", 2, (), id="story without steps"),
    pytest.param("stories", NO_STEPS_AND_NO_NAME, "E301", 3, (), id="story without name"),
]


@pytest.mark.parametrize("where,text,code,line,hints", BLOCK_ERRORS)
def test_a_story_or_rule_mistake_is_an_error_with_its_code_file_and_line(tmp_path, where, text, code, line, hints):
    problems, path = _errors(tmp_path, **{where: text})
    p = only_problem(problems, code=code, line=line)
    assert same_file(p.file, path)
    assert all(hint in p.hint for hint in hints), p.hint


def test_two_stage_fallback_is_an_accepted_loop(tmp_path):
    rules = """
    rules:
    - rule: fallback
      steps:
      - intent: nlu_fallback
      - action: action_two_stage_fallback
      - active_loop: action_two_stage_fallback
    """
    bot = load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu=NLU, rules=rules))
    assert bot.problems.errors == []
    assert bot.rules[0].steps[2] == ActiveLoopStep("action_two_stage_fallback", 6)


def test_checkpoint_step_inside_a_rule(tmp_path):
    rules = """
    rules:
    - rule: r
      steps:
      - intent: greet
      - action: utter_greet
      - checkpoint: later
    """
    problems, path = _errors(tmp_path, rules=rules)
    p = only_problem(problems, code="E305")
    assert same_file(p.file, path)
    assert p.line == line_of(rules, "checkpoint") == 6
    assert "checkpoint" not in p.hint.split("allowed here:")[1]


def test_story_starting_at_undefined_checkpoint_warns(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - checkpoint: nowhere
      - intent: greet
      - action: utter_greet
    """
    bot = load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu=NLU, stories=stories))
    w = only_problem(bot.problems, code="W301")
    assert w.line == 4


# ---------------------------------------------------------------- test stories


def test_load_test_stories_with_user_text_and_intent(tmp_path):
    path = tmp_path / "tests" / "test_stories.yml"
    path.parent.mkdir()
    path.write_text(
        'version: "3.1"\n'
        "stories:\n"
        "- story: greet and book\n"
        "  steps:\n"
        "  - user: |\n"
        "      hello\n"
        "    intent: greet\n"
        "  - action: utter_greet\n"
        "  - user: |\n"
        '      fly to [Rome]{"entity": "city", "role": "destination"}\n'
        "    intent: book\n"
        "  - action: booking_form\n"
        "  - active_loop: booking_form\n"
        "rules:\n"
        "- rule: bye\n"
        "  steps:\n"
        "  - user: bye\n"
        "    intent: deny\n"
        "  - bot: Bye!\n",
        encoding="utf-8",
    )
    blocks = load_test_stories(path.parent)  # a directory works as well as a file
    assert [(b.kind, b.name) for b in blocks] == [("story", "greet and book"), ("rule", "bye")]
    story = blocks[0]
    assert story.steps[0] == UserStep("greet", [], "hello", 5)
    assert story.steps[2].intent == "book"
    assert story.steps[2].text == 'fly to [Rome]{"entity": "city", "role": "destination"}'
    assert story.steps[4] == ActiveLoopStep("booking_form", 13)
    # test files allow end-to-end steps in rules too
    assert blocks[1].steps[1] == ActionStep(None, bot_text="Bye!", line=19)
    assert load_test_stories(path) == blocks


def test_load_test_stories_reports_errors(tmp_path):
    path = tmp_path / "test_stories.yml"
    path.write_text("stories:\n- story: s\n  steps:\n  - intnt: greet\n", encoding="utf-8")
    problems = Problems()
    with pytest.raises(BotFileError):
        load_test_stories(path, problems)
    p = only_problem(problems, code="E001")
    assert same_file(p.file, path) and p.line == 4
