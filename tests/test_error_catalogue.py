"""The error catalogue (agent/errors/catalogue.py): codes are unique and say their severity, every
entry is used, docs/errors.md is what the catalogue writes, and problems and errors carry their code."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from agent.errors import AgentError, BotFileError, Errors, Problems, Warnings
from agent.errors.catalogue import AREAS, Entry, entries
from agent.errors.docs import render

REPO = Path(__file__).resolve().parents[1]
ENTRIES = list(entries())
SOURCES = {
    p: p.read_text(encoding="utf-8")
    for p in (REPO / "agent").rglob("*.py")
    if p != REPO / "agent" / "errors" / "catalogue.py"
}


def test_docs_errors_md_is_what_the_catalogue_writes():
    written = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    assert written == render(), "regenerate it: python -m agent.errors.docs > docs/errors.md"


def test_the_readme_points_to_the_codes():
    assert "docs/errors.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_no_two_entries_share_a_code():
    codes = [e.code for e in ENTRIES]
    assert sorted(c for c in set(codes) if codes.count(c) > 1) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_a_code_says_its_severity_and_area(entry: Entry):
    assert re.fullmatch(r"[EW]\d{3}", entry.code), entry.code
    group = entry.name.split(".")[0]
    assert (group, entry.code[0]) in (("Errors", "E"), ("Warnings", "W")), f"{entry.name} is {entry.code}"
    assert entry.severity == ("error" if entry.code[0] == "E" else "warning")
    assert entry.code[1] in AREAS


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_an_entry_has_a_message_an_explanation_and_well_formed_templates(entry: Entry):
    assert entry.message.strip() and len(entry.explanation) > 20
    for template in (entry.message, entry.hint):
        for _, name, spec, conversion in string.Formatter().parse(template):
            assert name is None or name.isidentifier(), f"{entry.code}: field {name!r}"
            assert not spec and conversion in (None, "r"), entry.code
    assert entry.format(**{name: "x" for name in entry.fields})[0]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.code)
def test_every_entry_is_used_in_agent(entry: Entry):
    use = re.compile(rf"\b{re.escape(entry.name)}\b")
    assert any(use.search(text) for text in SOURCES.values()), f"{entry.name} ({entry.code}) is used nowhere in agent/"


def test_every_agent_error_is_raised_from_the_catalogue():
    plain = re.compile(r"AgentError\(\s*f?[\"']")
    assert [str(p.relative_to(REPO)) for p, text in SOURCES.items() if plain.search(text)] == []
    with pytest.raises(TypeError):
        AgentError("a message without a code")  # type: ignore[arg-type]


def test_a_problem_shows_its_code():
    problems = Problems()
    problems.error("domain.yml", 12, Errors.SLOT_UNKNOWN_TYPE, slot="count", type="integer", types="text, any")
    problems.warning("domain.yml", 3, Warnings.SLOT_UNFEATURIZED, slot="x")
    error, warning = problems.items
    assert (error.code, error.severity, warning.code, warning.severity) == ("E104", "error", "W101", "warning")
    assert str(error) == (
        "domain.yml:12: error E104: slot 'count' has unknown type 'integer'\n"
        "    hint: use one of text, any (or a custom class path)"
    )
    assert str(warning).startswith("domain.yml:3: warning W101: slot 'x'")
    with pytest.raises(BotFileError) as info:
        problems.raise_if_errors()
    assert info.value.code == "E104" and "error E104" in str(info.value)


def test_an_entry_is_reported_with_the_severity_its_code_says():
    with pytest.raises(AssertionError):
        Problems().warning("f.yml", 1, Errors.UNKNOWN_KEY, key="k", what="w", suggestion="")
    with pytest.raises(AssertionError):
        Problems().error("f.yml", 1, Warnings.NO_TRAINING_DATA)


def test_fields_must_match_the_templates():
    with pytest.raises(KeyError):
        Errors.MODEL_NOT_FOUND.format()
    with pytest.raises(TypeError):
        Errors.MODEL_NOT_FOUND.format(path="m", typo="x")


def test_an_agent_error_carries_code_message_hint_and_place():
    error = Errors.STORE_HOST_IS_URL.error(where="endpoints.yml:3: tracker_store url", host="redis://x")
    assert error.code == "E505"
    assert str(error) == (
        "endpoints.yml:3: tracker_store url: is the server's host name, not a URL: 'redis://x'\n"
        "    hint: e.g. url: localhost"
    )
    moved = Errors.MODEL_NOT_FOUND.error(path="m.tar.gz").at("credentials.yml")
    assert (moved.code, str(moved)) == ("E702", "credentials.yml: model 'm.tar.gz' does not exist")


def test_the_cli_prints_the_code(tmp_path, capsys):
    from agent.cli.main import main

    assert main(["data", "validate", str(tmp_path / "nowhere")]) == 1
    assert "error E009:" in capsys.readouterr().err
    bot = tmp_path / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "domain.yml").write_text("intents: [greet]\nslotz: {}\n", encoding="utf-8")
    assert main(["data", "validate", str(bot)]) == 1
    err = capsys.readouterr().err
    assert "domain.yml:2: error E001: unknown key 'slotz' in domain" in err
    assert "warning W001: no training data found" in err
