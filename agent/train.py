"""`agent train`: load the bot, fine-tune the intent model, compile the policies, write the artifact."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from agent.bot.domain_dict import rasa_domain_dict
from agent.bot.faq_file import find_faq_file
from agent.bot.project import BotProject, load_bot
from agent.bot.yaml_source import plain
from agent.core.actions.custom import find_actions_code
from agent.core.policies.catalogue import configured_policies, save_policies
from agent.core.policies.rule import CompiledRule, RulePolicy
from agent.core.tracker import ACTION_LISTEN
from agent.core.training_data import TrainingData
from agent.faq.training import FAQBuild, build_faq
from agent.model.artifact import FORMAT_VERSION, PARTS_FILE, library_versions, model_name, pack
from agent.nlu.encoder import DEFAULT_BASE_MODEL_NAME, resolve_base_model
from agent.nlu.interpreter import ENTITY_SETTINGS_FILE
from agent.nlu.regex_entities import RegexEntityExtractor
from agent.nlu.training import Reporter, TrainingResult, train_nlu


@dataclass
class TrainOutcome:
    path: Path
    bot: BotProject
    result: TrainingResult
    seconds: float
    onnx_problem: str | None = None  # why serving will use torch instead of ONNX Runtime
    faq: FAQBuild | None = None


def train_bot(
    bot_dir: str | Path,
    out_dir: str | Path = "models",
    base_model: str | None = None,
    reporter: Reporter | None = None,
    fixed_name: str | None = None,
    max_epochs: int | None = None,
    seed: int | None = None,
) -> TrainOutcome:
    started = time.time()
    bot = load_bot(bot_dir)
    cfg = bot.config.intent
    if base_model:
        cfg.base_model = base_model
    if max_epochs is not None:
        cfg.max_epochs = max_epochs
    if seed is not None:
        cfg.random_seed = seed
    languages = bot.config.languages or [bot.config.language]
    result = train_nlu(bot.nlu.examples, cfg, reporter, languages=languages)

    stories = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    policies = configured_policies(bot.config, bool(bot.stories))
    for policy in policies:
        policy.train(stories)
    rule_policy = next(p for p in policies if isinstance(p, RulePolicy))

    staging = Path(tempfile.mkdtemp(prefix="agent-train-"))
    try:
        faq = encoder = None
        if bot.faq or find_faq_file(bot.root):
            negatives = [e.text for e in bot.nlu.examples if "/" not in e.intent]
            encoder = resolve_base_model(bot.config.faq.encoder or cfg.base_model)
            faq = build_faq(bot.faq, negatives, encoder, bot.config.faq, staging / "faq", languages)
            add_faq_dialogue(bot, rule_policy, stories)
        if bot.config.sentiment.enabled:
            build_sentiment(bot, staging / "sentiment", encoder, languages)
        onnx_problem = result.classifier.save(staging / "nlu")
        _write_json(staging / "nlu" / ENTITY_SETTINGS_FILE, entity_settings(bot))
        _write_json(staging / "domain.json", rasa_domain_dict(bot.domain))
        _write_json(staging / "config.json", bot.config.to_dict())
        save_policies(policies, staging / "core")
        sentiment = ["sentiment"] if bot.config.sentiment.enabled else []
        _write_json(staging / PARTS_FILE, ["nlu", *(["faq"] if faq is not None else []), *sentiment, "core"])
        _write_json(
            staging / "core" / "training_data.json",
            {"stories": [plain(s) for s in bot.raw_stories], "rules": [plain(r) for r in bot.raw_rules]},
        )
        _write_json(staging / "metrics.json", result.summary())
        _write_json(
            staging / "manifest.json",
            {
                "format_version": FORMAT_VERSION,
                "bot": bot.name,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "training_data_sha256": bot.data_hash(),
                "training_files": [str(f.relative_to(bot.root)) for f in bot.files],
                "base_model": cfg.base_model or DEFAULT_BASE_MODEL_NAME,
                "intents": result.classifier.labels,
                "versions": library_versions(),
                "val_accuracy": result.val_accuracy,
            },
        )
        code = find_actions_code(bot.root)
        if code is not None:  # in-process custom actions travel with the model
            if code.is_dir():
                shutil.copytree(code, staging / "actions", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy(code, staging / "actions.py")
        path = pack(staging, Path(out_dir), fixed_name or model_name(bot.name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TrainOutcome(path, bot, result, time.time() - started, onnx_problem, faq)


def add_faq_dialogue(bot: BotProject, rules: RulePolicy, data: TrainingData) -> None:
    """A bot with an FAQ answers it without writing a rule: each retrieval intent (`faq` for faq.yml)
    gets `intent → utter_<intent>` unless the bot's own rules or stories already handle that intent."""
    handled = {item[1] for r in rules.rules for item in r.items if item[0] == "intent"}
    handled |= {step.intent for story in data.stories for step in story.path.steps if getattr(step, "intent", None)}
    # the intent and its utter_ action are in the parsed Domain already (load_bot's _declare_faq_intents),
    # so the model's domain.json, derived from it, declares them too
    for group in sorted({e.group for e in bot.faq}):
        if group not in handled:
            rules.rules.append(
                CompiledRule(
                    f"faq: answer {group}", [("action", ACTION_LISTEN), ("intent", group), ("action", f"utter_{group}")]
                )
            )
    rules.train_tail()


def build_sentiment(bot: BotProject, folder: Path, faq_encoder: Path | None, languages: list[str]) -> str | None:
    """The shipped sentiment head for the bot's language(s), or one fitted on the bot's own examples, and
    the base encoder it reads, exported for serving, unless the FAQ's encoder is that same model (its vectors then serve both); returns why
    the ONNX export failed, if it did (serving then embeds with torch)."""
    from agent.faq.embedder import TorchSentenceEmbedder
    from agent.nlu.sentiment import FAQ, OWN, SentimentAnalyzer, base_model_of, encoder_for, packaged_head

    head = packaged_head(encoder_for(languages))
    encoder = resolve_base_model(base_model_of(head.encoder))
    shared = faq_encoder is not None and Path(faq_encoder).resolve() == encoder.resolve()
    embedder = TorchSentenceEmbedder(encoder, languages)
    if bot.sentiment:  # the bot's own examples: a head of its own on the same embeddings
        from agent.nlu.sentiment.training import fit_head

        labels = [e.label for e in bot.sentiment]
        head = fit_head(embedder.embed([e.text for e in bot.sentiment]), labels, head.encoder)
    SentimentAnalyzer.write_settings(folder, head, bot.config.sentiment.threshold, FAQ if shared else OWN)
    return None if shared else embedder.export(folder)


def entity_settings(bot: BotProject) -> dict:
    """What the rule-based extractors need at run time: regexes, synonyms, built-in dimensions."""
    from agent.bot.builtin_dimensions import DIMENSIONS

    extractor = RegexEntityExtractor.from_data(bot.nlu, set(bot.domain.entities))
    builtin = bot.config.builtin_entities
    if builtin is None:  # not configured: the dimensions the domain declares as entities
        builtin = sorted(DIMENSIONS & set(bot.domain.entities))
    return {
        "regex": extractor.to_dict() if bot.config.regex_entities else None,
        "synonyms": bot.nlu.synonyms if bot.config.synonyms else {},
        "builtin": builtin,
    }


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
