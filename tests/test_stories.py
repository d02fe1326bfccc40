"""Stories, rules and test stories: every step kind, and declaration errors with file:line."""
from __future__ import annotations

import pytest

from agent.bot.project import load_bot, load_test_stories
from agent.bot.stories import (
    ANY_VALUE, ActionStep, ActiveLoopStep, CheckpointStep, OrStep, SlotStep, StoryBlock, UserStep,
)
from agent.errors import BotFileError, Problems
from tests.helpers.bot_factory import line_of, only_problem, same_file, write_bot

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
    - entity: city
      value: Rome
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
    root = write_bot(tmp_path_factory.mktemp("stories") / "bot", domain=DOMAIN, nlu=NLU, stories=STORIES,
                     rules=RULES)
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


def test_undeclared_intent(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - intent: greet
      - action: utter_greet
      - intent: gret_again
      - action: utter_greet
    """
    problems, path = _errors(tmp_path, stories=stories)
    p = only_problem(problems, "story 's' uses intent 'gret_again', which is not in the domain")
    assert same_file(p.file, path)
    assert p.line == line_of(stories, "gret_again") == 6


def test_undeclared_action(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - intent: greet
      - action: utter_greeet
      - action: action_missing
    """
    problems, path = _errors(tmp_path, stories=stories)
    p = only_problem(problems, "runs action 'utter_greeet'")
    assert same_file(p.file, path) and p.line == 5
    assert "add a response 'utter_greeet' under `responses:`" in p.hint
    assert "did you mean 'utter_greet'" in p.hint
    q = only_problem(problems, "runs action 'action_missing'")
    assert q.line == 6 and "under `actions:`" in q.hint


def test_undeclared_entity(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - intent: inform
        entities:
        - town: Paris
      - action: utter_greet
    """
    problems, path = _errors(tmp_path, stories=stories)
    p = only_problem(problems, "story 's' uses entity 'town', which is not in the domain")
    assert same_file(p.file, path)
    assert p.line == line_of(stories, "- intent: inform") == 4


def test_undeclared_slot(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - intent: inform
      - slot_was_set:
        - cty: Paris
      - action: utter_greet
    """
    problems, path = _errors(tmp_path, stories=stories)
    p = only_problem(problems, "story 's' sets slot 'cty', which is not in the domain")
    assert same_file(p.file, path)
    assert p.line == line_of(stories, "- slot_was_set") == 5
    assert "did you mean 'city'" in p.hint


def test_undeclared_slot_in_a_rule_condition(tmp_path):
    rules = """
    rules:
    - rule: r
      condition:
      - slot_was_set:
        - vip: true
      steps:
      - intent: greet
      - action: utter_greet
    """
    problems, path = _errors(tmp_path, rules=rules)
    p = only_problem(problems, "rule 'r' sets slot 'vip'")
    assert same_file(p.file, path) and p.line == 4


def test_active_loop_that_is_not_a_form(tmp_path):
    rules = """
    rules:
    - rule: r
      steps:
      - intent: book
      - action: utter_ask_city
      - active_loop: utter_ask_city
    """
    problems, path = _errors(tmp_path, rules=rules)
    p = only_problem(problems, "rule 'r' activates loop 'utter_ask_city', which is not a form")
    assert same_file(p.file, path)
    assert p.line == line_of(rules, "- active_loop") == 6


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


def test_unknown_step_key(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - intent: greet
      - acton: utter_greet
    """
    problems, path = _errors(tmp_path, stories=stories)
    p = only_problem(problems, "unknown key 'acton' in a step of a story")
    assert same_file(p.file, path)
    assert p.line == line_of(stories, "acton") == 5
    assert "action" in p.hint


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
    p = only_problem(problems, "'checkpoint' steps are not allowed in a rule")
    assert same_file(p.file, path)
    assert p.line == line_of(rules, "checkpoint") == 6
    assert "checkpoint" not in p.hint.split("allowed here:")[1]


@pytest.mark.parametrize("step", ["user: hello", "bot: hi"])
def test_end_to_end_steps_inside_a_rule(tmp_path, step):
    rules = f"""
    rules:
    - rule: r
      steps:
      - {step}
    """
    problems, _ = _errors(tmp_path, rules=rules)
    kind = step.split(":")[0]
    assert only_problem(problems, f"'{kind}' steps are not allowed in a rule").line == 4


def test_step_holding_two_kinds(tmp_path):
    stories = """
    stories:
    - story: s
      steps:
      - intent: greet
      - action: utter_greet
        active_loop: booking_form
    """
    problems, _ = _errors(tmp_path, stories=stories)
    assert only_problem(problems, "a step holds both 'action' and 'active_loop'").line == 5


def test_unknown_key_in_a_rule_and_bad_flag(tmp_path):
    rules = """
    rules:
    - rule: r
      conversation_starts: true
      wait_for_user_input: "no"
      steps:
      - intent: greet
      - action: utter_greet
    """
    problems, _ = _errors(tmp_path, rules=rules)
    assert only_problem(problems, "unknown key 'conversation_starts' in a rule").line == 3
    assert only_problem(problems, "wait_for_user_input must be true or false").line == 4


def test_story_without_steps_or_name(tmp_path):
    stories = """
    stories:
    - story: no steps
    - steps:
      - intent: greet
    """
    problems, _ = _errors(tmp_path, stories=stories)
    assert only_problem(problems, "story 'no steps' has no steps").line == 2
    assert only_problem(problems, "a story has no name").line == 3


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
    w = only_problem(bot.problems, "starts at checkpoint 'nowhere', which no story ends with", severity="warning")
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
        "      fly to [Rome]{\"entity\": \"city\", \"role\": \"destination\"}\n"
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
    p = only_problem(problems, "unknown key 'intnt'")
    assert same_file(p.file, path) and p.line == 4
