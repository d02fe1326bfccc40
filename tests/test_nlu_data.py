"""data/nlu.yml: examples, entity annotations, synonyms, regexes, lookups, and errors with lines."""

from __future__ import annotations

import pytest

from agent.bot.nlu_data import NLUData, parse_annotated, parse_nlu
from agent.bot.project import load_bot
from agent.bot.schema import Reader
from agent.bot.yaml_source import parse_yaml
from agent.errors import BotFileError, Problems
from tests.helpers.bot_factory import line_of, normalize, only_problem, same_file, write_bot

DOMAIN = """
version: "3.1"
intents:
  - greet
  - inform
  - fly
  - faq
entities:
  - city:
      roles: [departure, destination]
      groups: ["1"]
  - account_type
  - colour
"""


def _parse(text: str, file: str = "data/nlu.yml") -> tuple[NLUData, Problems]:
    problems = Problems()
    raw = parse_yaml(normalize(text), file)
    data = parse_nlu(raw["nlu"], Reader(file, problems), raw.line_of("nlu"))
    return data, problems


# ---------------------------------------------------------------- annotations


def test_plain_text_has_no_entities():
    assert parse_annotated("hello there") == ("hello there", [])


def test_simple_annotation_offsets():
    text, ents = parse_annotated("show me [red](colour) shoes")
    assert text == "show me red shoes"
    (e,) = ents
    assert (e.start, e.end, e.entity, e.value, e.text) == (8, 11, "colour", "red", "red")
    assert text[e.start : e.end] == "red"
    assert e.as_dict() == {"start": 8, "end": 11, "value": "red", "entity": "colour"}


def test_synonym_shorthand_annotation_sets_value():
    text, (e,) = parse_annotated("move it to my [savings account](account_type:savings) please")
    assert text == "move it to my savings account please"
    assert text[e.start : e.end] == "savings account"
    assert e.entity == "account_type" and e.value == "savings"


def test_json_annotation_with_role_group_and_value():
    text, ents = parse_annotated(
        'fly from [Berlin]{"entity": "city", "role": "departure", "group": "1"} to '
        '[LA]{"entity": "city", "role": "destination", "value": "Los Angeles"} today'
    )
    assert text == "fly from Berlin to LA today"
    berlin, la = ents
    assert text[berlin.start : berlin.end] == "Berlin"
    assert (berlin.entity, berlin.role, berlin.group, berlin.value) == ("city", "departure", "1", "Berlin")
    assert text[la.start : la.end] == "LA"
    assert (la.entity, la.role, la.group, la.value) == ("city", "destination", None, "Los Angeles")
    assert la.as_dict() == {"start": 19, "end": 21, "value": "Los Angeles", "entity": "city", "role": "destination"}


def test_several_annotation_forms_in_one_example_keep_offsets_right():
    text, ents = parse_annotated('[red](colour) and [blue](colour:navy) and [Rome]{"entity": "city"}!')
    assert text == "red and blue and Rome!"
    assert [text[e.start : e.end] for e in ents] == ["red", "blue", "Rome"]
    assert [e.value for e in ents] == ["red", "navy", "Rome"]
    assert [(e.start, e.end) for e in ents] == [(0, 3), (8, 12), (17, 21)]


def test_unicode_text_offsets_are_characters():
    text, (e,) = parse_annotated("je vais à [Zürich](city) demain")
    assert text == "je vais à Zürich demain"
    assert text[e.start : e.end] == "Zürich"


def test_brackets_without_annotation_are_left_alone():
    text, ents = parse_annotated("option [a] or (b)")
    assert text == "option [a] or (b)" and ents == []


# ---------------------------------------------------------------- examples and items

NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi [Anna](name)

    - good morning
- intent: inform
  metadata:
    sentiment: neutral
  examples:
    - text: I live in [Paris](city)
      metadata:
        source: chat
    - text: "[Rome]{\\"entity\\": \\"city\\", \\"role\\": \\"destination\\"} please"
- intent: faq/ask_hours
  examples: |
    - when do you open?
- synonym: savings
  examples: |
    - savings account
    - Saving Acct
- regex: account_number
  examples: |
    - \\d{10,12}
- lookup: bank
  examples: |
    - ICBC
    - Bank of China
- lookup: bank
  examples: |
    - HSBC
"""


@pytest.fixture(scope="module")
def nlu() -> NLUData:
    data, problems = _parse(NLU)
    assert problems.items == []
    return data


def test_block_examples_with_their_lines(nlu):
    greet = [e for e in nlu.examples if e.intent == "greet"]
    assert [e.text for e in greet] == ["hello", "hi Anna", "good morning"]
    assert [e.line for e in greet] == [
        line_of(NLU, "- hello"),
        line_of(NLU, "- hi [Anna]"),
        line_of(NLU, "- good morning"),
    ]
    assert greet[0].line == 5 and greet[2].line == 8  # the blank line is counted
    assert greet[1].entities[0].entity == "name"
    assert all(e.file == "data/nlu.yml" for e in greet)


def test_list_examples_with_metadata(nlu):
    paris, rome = [e for e in nlu.examples if e.intent == "inform"]
    assert paris.text == "I live in Paris" and paris.metadata == {"source": "chat"}
    assert paris.entities[0].as_dict() == {"start": 10, "end": 15, "value": "Paris", "entity": "city"}
    assert paris.line == line_of(NLU, "- text: I live in")
    assert rome.text == "Rome please"
    assert rome.entities[0].role == "destination"
    assert rome.metadata is None


def test_retrieval_intent_keeps_full_name(nlu):
    (ex,) = [e for e in nlu.examples if e.parent_intent == "faq"]
    assert ex.intent == "faq/ask_hours"
    assert "faq/ask_hours" in nlu.intents()


def test_intents_lists_distinct_names(nlu):
    assert nlu.intents() == ["faq/ask_hours", "greet", "inform"]


def test_synonyms_map_lowercased_variants_to_canonical_value(nlu):
    assert nlu.synonyms == {"savings account": "savings", "saving acct": "savings"}


def test_regex_features(nlu):
    assert [(r.name, r.pattern) for r in nlu.regexes] == [("account_number", r"\d{10,12}")]


def test_lookup_tables_are_merged(nlu):
    assert nlu.lookups == {"bank": ["ICBC", "Bank of China", "HSBC"]}


def test_folded_examples_get_the_block_line():
    text = "nlu:\n- intent: greet\n  examples: >\n    - hi\n"
    data, problems = _parse(text)
    assert problems.items == []
    assert [e.text for e in data.examples] == ["hi"]


def test_nlu_extend_merges_everything():
    a, _ = _parse("nlu:\n- intent: greet\n  examples: |\n    - hi\n- lookup: x\n  examples: |\n    - a\n")
    b, _ = _parse(
        "nlu:\n- intent: bye\n  examples: |\n    - bye\n- lookup: x\n  examples: |\n    - b\n"
        "- synonym: s\n  examples: |\n    - S1\n"
    )
    a.extend(b)
    assert [e.intent for e in a.examples] == ["greet", "bye"]
    assert a.lookups == {"x": ["a", "b"]} and a.synonyms == {"s1": "s"}


# ---------------------------------------------------------------- errors


def test_invalid_json_annotation_names_the_example_line():
    text = """
    nlu:
    - intent: fly
      examples: |
        - to [Rome](city)
        - from [Oslo]{"entity": city} please
    """
    data, problems = _parse(text)
    p = only_problem(problems, code="E201")
    assert p.file == "data/nlu.yml"
    assert p.line == line_of(text, "[Oslo]") == 5
    assert "role" in p.hint  # shows the right form
    # the example itself is kept, without the broken annotation
    assert data.examples[1].text == "from Oslo please" and data.examples[1].entities == []


ANNOTATIONS_WITHOUT_ENTITY_AND_WITH_UNKNOWN_KEY = """
nlu:
- intent: fly
  examples: |
    - from [Oslo]{"role": "departure"}
    - to [Rome]{"entity": "city", "rol": "destination"}
"""

# One row per mistake, parsed alone: nlu.yml, the code of the one error it holds, its line, a part of its hint.
PARSE_ERRORS = [
    pytest.param(ANNOTATIONS_WITHOUT_ENTITY_AND_WITH_UNKNOWN_KEY, "E202", 4, "", id="annotation without entity"),
    pytest.param(ANNOTATIONS_WITHOUT_ENTITY_AND_WITH_UNKNOWN_KEY, "E001", 5, "", id="unknown key in an annotation"),
    pytest.param("nlu:\n- examples: |\n    - hi\n", "E203", 2, "none of them", id="item with no kind"),
    pytest.param(
        "nlu:\n- intent: greet\n  exmples: |\n    - hi\n", "E001", 3, "examples", id="unknown key in an intent item"
    ),
    pytest.param("nlu:\n- intent: greet\n  exmples: |\n    - hi\n", "E205", 2, "", id="intent without examples"),
    pytest.param(
        "nlu:\n- synonym: x\n  metadata: {}\n  examples: |\n    - y\n",
        "E001",
        3,
        "",
        id="unknown key in a synonym item",
    ),
    pytest.param("nlu:\n- intent: greet\n  examples: 42\n", "E210", 3, "", id="examples of the wrong type"),
]


@pytest.mark.parametrize("text,code,line,hint", PARSE_ERRORS)
def test_an_nlu_mistake_is_an_error_with_its_code_and_line(text, code, line, hint):
    _, problems = _parse(text)
    p = only_problem(problems, code=code)
    assert p.line == line
    assert p.file == "data/nlu.yml" and hint in p.hint


def test_invalid_regex_names_the_line():
    text = """
    nlu:
    - regex: zip
      examples: |
        - \\d{5}
        - [0-9
    """
    data, problems = _parse(text)
    p = only_problem(problems, code="E206")
    assert p.line == line_of(text, "[0-9") == 5
    assert [r.pattern for r in data.regexes] == [r"\d{5}"]


def test_example_line_without_dash():
    text = """
    nlu:
    - intent: greet
      examples: |
        - hello
        hi there
        - hey
    """
    data, problems = _parse(text)
    p = only_problem(problems, code="E207")
    assert p.line == line_of(text, "hi there") == 5
    assert "'hi there'" in p.message
    assert [e.text for e in data.examples] == ["hello", "hey"]


def test_item_with_two_kinds():
    text = """
    nlu:
    - intent: greet
      examples: |
        - hello
    - intent: bye
      synonym: farewell
      examples: |
        - bye
    """
    data, problems = _parse(text)
    p = only_problem(problems, code="E203")
    assert p.line == line_of(text, "- intent: bye") == 5
    assert "intent, synonym" in p.hint
    assert [e.intent for e in data.examples] == ["greet"]


# ---------------------------------------------------------------- cross-file checks via load_bot


def _load(tmp_path, nlu: str) -> tuple[Problems, object]:
    root = write_bot(tmp_path / "bot", domain=DOMAIN, nlu=nlu)
    problems = Problems()
    with pytest.raises(BotFileError) as info:
        load_bot(root, problems)
    assert info.value.problems is problems
    return problems, root / "data" / "nlu.yml"


UNDECLARED_ROLE_AND_GROUP = """
nlu:
- intent: fly
  examples: |
    - from [Oslo]{"entity": "city", "role": "origin"}
    - to [Rome]{"entity": "city", "group": "2"}
"""

# One row per name the domain lacks: nlu.yml, the code of the one error (each is reported once), its line,
# a part of its hint.
UNDECLARED = [
    pytest.param(UNDECLARED_ROLE_AND_GROUP, "E213", 4, "", id="role"),
    pytest.param(UNDECLARED_ROLE_AND_GROUP, "E214", 5, "", id="group"),
]
# What `rasa train` trains with: a warning here, and a failure for `agent data validate` only
UNDECLARED_BUT_TRAINED = [
    pytest.param(
        """
        nlu:
        - intent: greet
          examples: |
            - hi
        - intent: goodbye
          examples: |
            - bye
            - see you
        """,
        "W204",
        7,
        "intents:",
        id="intent",
    ),
    pytest.param(
        """
        nlu:
        - intent: inform
          examples: |
            - in [Paris](city)
            - the [red](color) one
        """,
        "W205",
        5,
        "did you mean 'colour'",
        id="entity",
    ),
]


@pytest.mark.parametrize("nlu,code,line,hint", UNDECLARED)
def test_a_name_the_domain_lacks_is_an_error_with_its_code_file_and_line(tmp_path, nlu, code, line, hint):
    problems, path = _load(tmp_path, nlu)
    p = only_problem(problems, code=code)
    assert (p.line, same_file(p.file, path)) == (line, True)
    assert hint in p.hint


@pytest.mark.parametrize("nlu,code,line,hint", UNDECLARED_BUT_TRAINED)
def test_a_name_only_the_nlu_data_uses_warns_and_fails_validation(tmp_path, nlu, code, line, hint):
    root = write_bot(tmp_path / "bot", domain=DOMAIN, nlu=nlu)
    problems = Problems()
    load_bot(root, problems)  # trains, as Rasa does
    p = only_problem(problems, code=code)
    assert (p.line, same_file(p.file, root / "data" / "nlu.yml"), p.fails_validation) == (line, True, True)
    assert hint in p.hint


def test_retrieval_intent_needs_only_its_parent_in_the_domain(tmp_path):
    nlu = """
    nlu:
    - intent: faq/ask_hours
      examples: |
        - when do you open
    - intent: greet
      examples: |
        - hi
    """
    bot = load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu=nlu))
    assert bot.problems.errors == []
    assert [e.intent for e in bot.nlu.examples] == ["faq/ask_hours", "greet"]


def test_same_example_under_two_intents_is_a_warning(tmp_path):
    nlu = """
    nlu:
    - intent: greet
      examples: |
        - hello
    - intent: inform
      examples: |
        - Hello
    """
    bot = load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu=nlu))
    w = only_problem(bot.problems, code="W201")
    assert w.line == 7
    assert "nlu.yml:4)" in w.message  # names the first occurrence too


def test_intent_without_examples_is_a_warning(tmp_path):
    bot = load_bot(write_bot(tmp_path / "bot", domain=DOMAIN, nlu="nlu:\n- intent: greet\n  examples: |\n    - hi\n"))
    w = only_problem(bot.problems, code="W202", line=line_of(DOMAIN, "- inform"))  # fly and faq have none either
    assert same_file(w.file, tmp_path / "bot" / "domain.yml")
