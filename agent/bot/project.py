"""Find and load every file of a bot directory (our layout or an unchanged Rasa 3.x project)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.bot.config import AgentConfig, parse_config
from agent.bot.domain import Domain, merge_domains, parse_domain, parse_responses
from agent.bot.faq_file import find_faq_file, parse_faq, retrieval_entries
from agent.bot.nlu_data import NLUData, parse_nlu
from agent.bot.schema import Reader, key_line
from agent.bot.sentiment_data import parse_sentiment
from agent.bot.stories import StoryBlock, parse_blocks
from agent.bot.yaml_source import read_yaml
from agent.errors import BotFileError, Errors, Problems, Warnings

YAML_SUFFIXES = (".yml", ".yaml")
DATA_KEYS = ("version", "nlu", "stories", "rules", "responses", "sentiment")


@dataclass
class BotProject:
    name: str
    root: Path
    domain: Domain
    nlu: NLUData
    stories: list[StoryBlock]
    rules: list[StoryBlock]
    config: AgentConfig
    files: list[Path] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    raw_stories: list = field(default_factory=list)
    raw_rules: list = field(default_factory=list)
    faq: list = field(default_factory=list)  # FAQEntry: faq.yml, then Rasa retrieval intents
    sentiment: list = field(default_factory=list)  # SentimentExample: the bot's own, for its sentiment head

    def data_hash(self) -> str:
        digest = hashlib.sha256()
        for path in sorted(self.files):
            digest.update(str(path.relative_to(self.root)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_bot(path: str | Path, problems: Problems | None = None, strict: bool = True) -> BotProject:
    """Load a bot; with strict=True any error raises BotFileError listing every problem found."""
    root = Path(path)
    if not root.is_dir():
        raise Errors.NOT_A_BOT_DIRECTORY.error(where=str(path))
    problems = problems if problems is not None else Problems()
    files: list[Path] = []

    domain_path = next((root / n for n in ("domain.yml", "domain.yaml", "domain") if (root / n).exists()), None)
    if domain_path is None:
        raise Errors.NO_DOMAIN.error(where=str(path))
    domain_files = _yaml_files(domain_path) if domain_path.is_dir() else [domain_path]
    domains = []
    for f in domain_files:
        files.append(f)
        r = Reader(_display(f), problems)
        raw = _read(f, problems)
        if raw is not None:
            domains.append(parse_domain(raw, r.file, r))
    domain = merge_domains(domains)

    nlu, stories, rules, raw_stories, raw_rules, sentiment = NLUData(), [], [], [], [], []
    data_dir = root / "data"
    data_files = _yaml_files(data_dir) if data_dir.is_dir() else []
    if not data_files:
        problems.warning(_display(root), None, Warnings.NO_TRAINING_DATA)
    for f in data_files:
        files.append(f)
        r = Reader(_display(f), problems)
        raw = _read(f, problems)
        if raw is None:
            continue
        data = r.mapping(raw, "a training data file")
        if data is None:
            continue
        r.check_keys(data, DATA_KEYS, "a training data file")
        if "nlu" in data:
            nlu.extend(parse_nlu(data["nlu"], r, key_line(data, "nlu")))
        if "stories" in data:
            stories += parse_blocks(data["stories"], "story", r, key_line(data, "stories"))
            raw_stories.append(data["stories"])
        if "rules" in data:
            rules += parse_blocks(data["rules"], "rule", r, key_line(data, "rules"))
            raw_rules.append(data["rules"])
        if "responses" in data:
            domain.responses.update(parse_responses(data["responses"], r, key_line(data, "responses")))
        if "sentiment" in data:
            sentiment += parse_sentiment(data["sentiment"], r, key_line(data, "sentiment"))

    config = AgentConfig()
    config_path = next((root / n for n in ("config.yml", "config.yaml") if (root / n).exists()), None)
    if config_path is not None:
        files.append(config_path)
        raw = _read(config_path, problems)
        config = parse_config(raw, Reader(_display(config_path), problems), root)

    faq = _load_faq(root, files, problems, config) + retrieval_entries(nlu.examples, domain.responses)
    _declare_faq_intents(domain, faq)

    bot = BotProject(
        root.resolve().name,
        root,
        domain,
        nlu,
        stories,
        rules,
        config,
        files,
        problems,
        raw_stories,
        raw_rules,
        faq,
        sentiment,
    )
    from agent.bot.validate import validate_bot  # late import: validation depends on the whole project

    validate_bot(bot, problems)
    if strict:
        problems.raise_if_errors()
    return bot


def _declare_faq_intents(domain: Domain, faq: list) -> None:
    """A faq.yml implies its retrieval intent (`faq`) and the response action that answers it
    (`utter_faq`): stories, rules and test conversations may use them without declaring them."""
    from agent.bot.domain import Intent

    for group in sorted({e.group for e in faq}):
        if not domain.knows_intent(group):
            domain.intents[group] = Intent(group, source=("faq.yml", None))
        if not domain.knows_action(f"utter_{group}"):
            domain.actions.append(f"utter_{group}")


def _load_faq(root: Path, files: list[Path], problems: Problems, config: AgentConfig) -> list:
    path = find_faq_file(root)
    if path is None:
        return []
    config.faq.answer_unrecognised = True  # a faq.yml is an FAQ for every message, not only retrieval intents
    files.append(path)
    raw = _read(path, problems)
    return parse_faq(raw, Reader(_display(path), problems)) if raw is not None else []


def _read(path: Path, problems: Problems) -> Any:
    try:
        return read_yaml(path)
    except BotFileError as exc:
        problems.items.extend(exc.problems.items)
        return None


def load_test_stories(path: str | Path, problems: Problems | None = None) -> list[StoryBlock]:
    """Test conversations (Rasa test-story format: `user:` text with `intent:` and expected actions)."""
    path = Path(path)
    problems = problems if problems is not None else Problems()
    files = _yaml_files(path) if path.is_dir() else [path]
    blocks: list[StoryBlock] = []
    for f in files:
        r = Reader(_display(f), problems)
        raw = _read(f, problems)
        if raw is None:
            continue
        data = r.mapping(raw, "a test stories file")
        if data is None:
            continue
        r.check_keys(data, ("version", "stories", "rules"), "a test stories file")
        for kind, key in (("story", "stories"), ("rule", "rules")):
            if key in data:
                blocks += parse_blocks(data[key], kind, r, key_line(data, key), test_file=True)
    problems.raise_if_errors()
    return blocks
