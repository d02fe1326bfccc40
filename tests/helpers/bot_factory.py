"""Write small bot directories from YAML strings, for parser and validation tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agent.errors import Problem, Problems

MINIMAL_DOMAIN = """
version: "3.1"
intents:
  - greet
responses:
  utter_greet:
    - text: "Hello!"
"""

MINIMAL_NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
"""


def normalize(text: str) -> str:
    """The exact text write_bot puts in a file: dedented, leading blank lines dropped."""
    return textwrap.dedent(text).lstrip("\n")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing `needle` in the file written from `text`."""
    seen = 0
    for number, line in enumerate(normalize(text).splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found in the text")


def _write(path: Path, text: str | None) -> None:
    if text is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(normalize(text), encoding="utf-8")


def write_bot(
    root: str | Path,
    domain: str | dict[str, str] | None = MINIMAL_DOMAIN,
    nlu: str | None = MINIMAL_NLU,
    stories: str | None = None,
    rules: str | None = None,
    config: str | None = None,
) -> Path:
    """Create a bot directory under `root`.

    `domain` is the text of domain.yml, or a {file name: text} dict for a domain/ directory.
    A None argument leaves that file out.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if isinstance(domain, dict):
        for name, text in domain.items():
            _write(root / "domain" / name, text)
    else:
        _write(root / "domain.yml", domain)
    _write(root / "data" / "nlu.yml", nlu)
    _write(root / "data" / "stories.yml", stories)
    _write(root / "data" / "rules.yml", rules)
    _write(root / "config.yml", config)
    return root


def same_file(reported: str, expected: Path) -> bool:
    return Path(reported).resolve() == Path(expected).resolve()


def only_problem(
    problems: Problems | list[Problem],
    contains: str = "",
    severity: str | None = None,
    *,
    code: str | None = None,
    line: int | None = None,
) -> Problem:
    """The single problem with catalogue `code` (e.g. "E104"; its letter gives the severity), or of
    `severity` whose message contains `contains`; `line` narrows to the problems on that line.
    Fails if none or several match."""
    items = problems.items if isinstance(problems, Problems) else problems
    if severity is None:
        severity = "warning" if code and code.startswith("W") else "error"
    found = [
        p
        for p in items
        if p.severity == severity
        and (code is None or p.code == code)
        and contains in p.message
        and (line is None or p.line == line)
    ]
    wanted = " ".join(f"{k}={v!r}" for k, v in (("code", code), ("containing", contains or None), ("line", line)) if v)
    assert len(found) == 1, f"expected one {severity} with {wanted}, got:\n" + "\n".join(str(p) for p in items)
    return found[0]


def assert_test_conversations_fit(bot, stories, text_ok=lambda text: True, fold=lambda text: text) -> None:
    """A bot's end-to-end test conversations match its domain, every user step has text (passing
    `text_ok`) and an intent, and no user text is a training phrase (compared after `fold`)."""
    from agent.bot.nlu_data import parse_annotated
    from agent.bot.stories import ActionStep, UserStep
    from agent.bot.validate import check_block

    problems = Problems()
    for story in stories:
        check_block(story, bot, problems)
        users = [s for s in story.steps if isinstance(s, UserStep)]
        assert users and all(u.text and u.intent and text_ok(u.text) for u in users), story.name
        assert any(isinstance(s, ActionStep) for s in story.steps)
    assert problems.errors == []
    training = {fold(e.text) for e in bot.nlu.examples}
    assert not [
        u.text
        for s in stories
        for u in s.steps
        if isinstance(u, UserStep)
        if fold(parse_annotated(u.text)[0]) in training
    ]


def shopbot_copy(
    shopbot_dir: Path, dest: Path, epochs: int, faq_yml: str | None = None, faq_encoder: object | None = None
) -> Path:
    """The fixture shop bot copied to `dest`, its DIET classifier swapped for ours with settings that
    suit a tiny encoder; with `faq_yml` a faq.yml too, and with `faq_encoder` an FAQRetriever on it."""
    import shutil

    shutil.copytree(shopbot_dir, dest)
    config = (
        (dest / "config.yml")
        .read_text()
        .replace(
            "  - name: DIETClassifier\n    epochs: 100\n",
            f"  - name: BertIntentClassifier\n    epochs: {epochs}\n    learning_rate: 0.001\n    frozen_layers: 0\n",
        )
    )
    if faq_encoder is not None:
        retriever = f"  - name: FAQRetriever\n    encoder: {faq_encoder}\n"
        config = config.replace("  - name: FallbackClassifier", retriever + "  - name: FallbackClassifier")
    (dest / "config.yml").write_text(config)
    if faq_yml is not None:
        (dest / "faq.yml").write_text(faq_yml)
    return dest
