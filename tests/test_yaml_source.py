"""Line-aware YAML reading: syntax errors, duplicate keys, YAML 1.2 booleans, encodings."""

from __future__ import annotations

import pytest

from agent.bot.yaml_source import LineDict, LineList, LineStr, parse_yaml, plain, read_yaml
from agent.errors import BotFileError


def test_syntax_error_names_file_line_column_and_excerpt():
    text = 'version: "3.1"\nresponses:\n  utter_x:\n  - text: Note: this breaks\n'
    with pytest.raises(BotFileError) as info:
        parse_yaml(text, "bots/x/domain.yml")
    problems = info.value.problems.errors
    assert len(problems) == 1
    p = problems[0]
    assert p.file == "bots/x/domain.yml"
    assert p.code == "E006"
    assert "mapping values are not allowed" in p.message  # the YAML parser's own words
    assert p.line == 4
    assert p.column == 15  # the second ': '
    assert p.excerpt == "  - text: Note: this breaks"
    assert "quoted" in p.hint
    rendered = str(info.value)
    assert rendered.startswith("bots/x/domain.yml:4:15: error E006: YAML syntax error")
    assert "    " + p.excerpt + "\n    " + " " * 14 + "^" in rendered


# Syntax errors: the text, then the line and column the error is reported at (None: any column) and
# the line shown with it.
SYNTAX_ERRORS = [
    pytest.param(
        'version: "3.1"\nintents:\n  - greet\n  - goodbye: [oops\nslots: {}\n',
        5,
        6,
        "slots: {}",
        id="unclosed flow sequence, where the parser notices it",
    ),
    pytest.param(
        "nlu:\n- intent: greet\n  examples: |\n    - hi\n - intent: bye\n",
        5,
        None,
        " - intent: bye",
        id="bad indentation",
    ),
    pytest.param("a: 1\n\tb: 2\n", 2, 1, "\tb: 2", id="tab indentation"),
]


@pytest.mark.parametrize("text,line,column,excerpt", SYNTAX_ERRORS)
def test_a_syntax_error_points_at_the_offending_line(text, line, column, excerpt):
    with pytest.raises(BotFileError) as info:
        parse_yaml(text, "domain.yml")
    (p,) = info.value.problems.errors
    assert (p.code, p.line, p.excerpt) == ("E006", line, excerpt)
    assert p.column == column if column is not None else p.column >= 1


@pytest.mark.parametrize(
    "text,key,line,first_line",
    [
        pytest.param("intents:\n  - greet\nentities:\n  - city\nintents:\n  - bye\n", "intents", 5, 1, id="top level"),
        pytest.param("slots:\n  name:\n    type: text\n    type: any\n", "type", 4, 3, id="nested mapping"),
    ],
)
def test_a_duplicate_key_is_an_error_naming_both_lines(text, key, line, first_line):
    with pytest.raises(BotFileError) as info:
        parse_yaml(text, "domain.yml")
    (p,) = info.value.problems.errors
    assert (p.file, p.code, p.line) == ("domain.yml", "E005", line)
    assert f"'{key}'" in p.message and f"first at line {first_line}" in p.message


def test_yes_no_on_off_stay_strings_true_false_are_bools():
    data = parse_yaml("a: yes\nb: no\nc: on\nd: off\ne: Yes\nf: true\ng: false\nh: True\ni: FALSE\nj: y\n", "f.yml")
    assert data["a"] == "yes" and isinstance(data["a"], str)
    assert data["b"] == "no" and isinstance(data["b"], str)
    assert data["c"] == "on" and data["d"] == "off" and data["e"] == "Yes" and data["j"] == "y"
    assert data["f"] is True and data["g"] is False and data["h"] is True and data["i"] is False


def test_yes_as_categorical_value_and_mapping_key_stays_text():
    data = parse_yaml("values: [yes, no]\nyes: 1\n", "f.yml")
    assert data["values"] == ["yes", "no"]
    assert "yes" in data and True not in data


def test_other_scalars_keep_their_types():
    data = parse_yaml("i: 3\nf: 0.5\nn: null\nt: ~\ns: '3'\n", "f.yml")
    assert data == {"i": 3, "f": 0.5, "n": None, "t": None, "s": "3"}
    assert isinstance(data["s"], str)


def test_values_remember_their_lines():
    text = "top:\n  a: x\n  list:\n    - one\n    - two\n  block: |\n    line1\n    line2\n"
    data = parse_yaml(text, "f.yml")
    assert isinstance(data, LineDict) and data.line_of("top") == 1
    top = data["top"]
    assert top.line_of("a") == 2 and top.line_of("list") == 3
    assert isinstance(top["list"], LineList)
    assert top["list"].line_of(0) == 4 and top["list"].line_of(1) == 5
    assert isinstance(top["a"], LineStr) and top["a"].line == 2
    # a block scalar's text starts on the line below the `|`
    assert top["block"].style == "|" and top["block"].line == 7
    clean = plain(data)
    assert type(clean["top"]) is dict and type(clean["top"]["a"]) is str
    assert clean == {"top": {"a": "x", "list": ["one", "two"], "block": "line1\nline2\n"}}


def test_invalid_utf8_file_is_a_bot_file_error(tmp_path):
    path = tmp_path / "nlu.yml"
    path.write_bytes(b"nlu:\n- intent: greet\n  examples: |\n    - caf\xe9\n")
    with pytest.raises(BotFileError) as info:
        read_yaml(path)
    p = info.value.problems.errors[0]
    assert p.file == str(path)
    assert p.code == "E008"
    assert "UTF-8" in p.hint


def test_read_yaml_reads_utf8_file(tmp_path):
    path = tmp_path / "nlu.yml"
    path.write_text("text: café ☕\n", encoding="utf-8")
    assert read_yaml(path) == {"text": "café ☕"}


def test_read_yaml_syntax_error_names_the_path(tmp_path):
    path = tmp_path / "domain.yml"
    path.write_text("intents:\n  - greet\n  -bye: [\n", encoding="utf-8")
    with pytest.raises(BotFileError) as info:
        read_yaml(path)
    p = info.value.problems.errors[0]
    assert p.file == str(path)
    assert (p.code, p.line) == ("E006", 3)


def test_sexagesimal_looking_values_stay_strings_like_yaml_1_2():
    data = parse_yaml("slot_was_set:\n  - time: 12:30\n", "stories.yml")
    assert data["slot_was_set"][0]["time"] == "12:30"
