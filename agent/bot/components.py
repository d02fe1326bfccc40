"""What each pipeline component and policy a config.yml may name becomes here, with its settings.

Each entry registers a name, a settings dataclass (the keys we read, typed) and `apply`, which
folds those settings into the bot's `AgentConfig` and notes how the component was mapped. Rasa's
keys that we accept but do not use come from `rasa_settings.RASA_SETTINGS`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.bot.builtin_dimensions import DIMENSIONS, DUCKLING_NAMES
from agent.bot.rasa_settings import RASA_SETTINGS
from agent.bot.registry import PIPELINE, POLICY, REGISTRY, Context
from agent.errors import Errors, Warnings

if TYPE_CHECKING:
    from agent.bot.config import AgentConfig

TED_MAX_EPOCHS = 60  # the learned policy converges well before; more only costs time

ENCODER = "the fine-tuned transformer encoder provides tokens and features"
REPLACED = "the fine-tuned transformer classifier replaces it; fine-tuning stops early on validation accuracy"


def _rasa(*names: str) -> frozenset[str]:
    keys: set[str] = set()
    for n in names:
        keys |= RASA_SETTINGS.get(n, frozenset())
    return frozenset(keys)


def resolve_path(value: str, bot_dir: Path | None) -> str:
    """A path in config.yml, relative to the bot when it exists there."""
    path = Path(value)
    try:
        path = path.expanduser()
    except RuntimeError:  # `~name` of no such user: keep the text as written
        pass
    if not path.is_absolute() and bot_dir is not None and (bot_dir / path).exists():
        path = bot_dir / path
    return str(path)


@dataclass
class NoSettings:
    """A component whose every key is Rasa's and unused here."""


# ---- pipeline: covered by the encoder ----

TOKENIZERS_AND_FEATURIZERS = (
    "WhitespaceTokenizer",
    "JiebaTokenizer",
    "SpacyTokenizer",
    "MitieTokenizer",
    "RegexFeaturizer",
    "LexicalSyntacticFeaturizer",
    "CountVectorsFeaturizer",
    "SpacyFeaturizer",
    "ConveRTFeaturizer",
    "MitieFeaturizer",
    "LanguageModelTokenizer",
    "HFTransformersNLP",
)


def _covered(settings: NoSettings, config: AgentConfig, ctx: Context) -> None:
    config.notes.append(f"{ctx.name}: covered by the fine-tuned transformer encoder")


for _name in TOKENIZERS_AND_FEATURIZERS:
    REGISTRY.register(_name, PIPELINE, NoSettings, rasa_keys=_rasa(_name), why_unused=ENCODER, strict=False)(_covered)


@dataclass
class LanguageModelSettings:
    model_weights: str | None = None


@REGISTRY.register(
    "LanguageModelFeaturizer",
    PIPELINE,
    LanguageModelSettings,
    rasa_keys=_rasa("LanguageModelFeaturizer"),
    why_unused=ENCODER,
    strict=False,
)
def _language_model(s: LanguageModelSettings, config: AgentConfig, ctx: Context) -> None:
    if s.model_weights:
        weights = resolve_path(s.model_weights, ctx.bot_dir)
        if Path(weights).is_dir():
            config.intent.base_model = weights
        else:
            ctx.reader.warning(ctx.line, Warnings.MODEL_WEIGHTS_NOT_LOCAL, weights=s.model_weights)
    _covered(NoSettings(), config, ctx)


# ---- pipeline: intent classification ----


@dataclass
class RasaClassifierSettings:
    random_seed: int | None = None
    entity_recognition: bool | None = None


def _seed_and_entities(s: RasaClassifierSettings, config: AgentConfig) -> None:
    if s.random_seed is not None:
        config.intent.random_seed = s.random_seed
    if s.entity_recognition is False:
        config.intent.entity_recognition = False


def _replaced_classifier(s: RasaClassifierSettings, config: AgentConfig, ctx: Context) -> None:
    _seed_and_entities(s, config)
    config.notes.append(f"{ctx.name}: replaced by the fine-tuned transformer intent classifier")


for _name in (
    "DIETClassifier",
    "LogisticRegressionClassifier",
    "SklearnIntentClassifier",
    "KeywordIntentClassifier",
    "MitieIntentClassifier",
):
    REGISTRY.register(
        _name,
        PIPELINE,
        RasaClassifierSettings,
        rasa_keys=_rasa(_name) - {"random_seed"},
        why_unused=REPLACED,
        strict=False,
    )(_replaced_classifier)


@dataclass
class BertIntentSettings:
    epochs: int | None = None  # at most; training stops early
    batch_size: int | None = None
    learning_rate: float | None = None
    frozen_layers: int | None = None
    patience: int | None = None
    typo_rate: float | None = None
    sparse_features: bool | None = None
    base_model: str | None = None
    random_seed: int | None = None
    entity_recognition: bool | None = None
    out_of_scope_negatives: bool | None = None
    intent_names_as_examples: bool | None = None


BERT_FIELDS = {
    "epochs": "max_epochs",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "frozen_layers": "frozen_layers",
    "patience": "patience",
    "typo_rate": "typo_rate",
    "sparse_features": "sparse_features",
    "random_seed": "random_seed",
    "entity_recognition": "entity_recognition",
    "out_of_scope_negatives": "out_of_scope_negatives",
    "intent_names_as_examples": "intent_names_as_examples",
}


@REGISTRY.register("BertIntentClassifier", PIPELINE, BertIntentSettings)
def _bert(s: BertIntentSettings, config: AgentConfig, ctx: Context) -> None:
    for ours, field_name in BERT_FIELDS.items():
        value = getattr(s, ours)
        if value is not None:
            setattr(config.intent, field_name, value)
    if s.base_model:
        config.intent.base_model = resolve_path(s.base_model, ctx.bot_dir)
    config.notes.append(f"{ctx.name}: fine-tuned transformer intent classifier")


@dataclass
class FallbackSettings:
    threshold: float | None = None
    ambiguity_threshold: float | None = None


@REGISTRY.register(
    "FallbackClassifier", PIPELINE, FallbackSettings, rasa_keys=_rasa("FallbackClassifier"), strict=False
)
def _fallback(s: FallbackSettings, config: AgentConfig, ctx: Context) -> None:
    fb = config.fallback
    if s.threshold is None and s.ambiguity_threshold is None:
        config.notes.append(f"{ctx.name}: thresholds chosen by a sweep on validation data")
        return
    fb.threshold = fb.threshold if s.threshold is None else s.threshold
    fb.ambiguity_threshold = fb.ambiguity_threshold if s.ambiguity_threshold is None else s.ambiguity_threshold
    fb.from_config = True
    config.notes.append(
        f"{ctx.name}: nlu_fallback below {fb.threshold} or a top-two gap below "
        f"{fb.ambiguity_threshold} (as config.yml sets them)"
    )


# ---- pipeline: language models and entities ----


@dataclass
class SpacyNLPSettings:
    model: str = "en_core_web_sm"


@REGISTRY.register(
    "SpacyNLP", PIPELINE, SpacyNLPSettings, rasa_keys=_rasa("SpacyNLP"), why_unused=ENCODER, strict=False
)
def _spacy_nlp(s: SpacyNLPSettings, config: AgentConfig, ctx: Context) -> None:
    if not _spacy_model_available(s.model, ctx.bot_dir):
        ctx.reader.warning(ctx.line, Warnings.SPACY_MODEL_MISSING, model=s.model)
    config.notes.append(f"{ctx.name}: not needed (the transformer encoder provides the features)")


def _spacy_model_available(model: str, bot_dir: Path | None) -> bool:
    """spaCy loads a package name or a directory; neither may raise here."""
    if Path(resolve_path(model, bot_dir)).is_dir():
        return True
    try:
        return importlib.util.find_spec(model) is not None
    except (ImportError, ValueError):
        return False


@REGISTRY.register("MitieNLP", PIPELINE, NoSettings, rasa_keys=_rasa("MitieNLP"), why_unused=ENCODER, strict=False)
def _mitie_nlp(s: NoSettings, config: AgentConfig, ctx: Context) -> None:
    config.notes.append(f"{ctx.name}: not needed (the transformer encoder provides the features)")


@dataclass
class BuiltinEntitySettings:
    dimensions: list | None = None


@REGISTRY.register(
    "DucklingEntityExtractor",
    PIPELINE,
    BuiltinEntitySettings,
    rasa_keys=_rasa("DucklingEntityExtractor"),
    why_unused="the built-in extractors run in process: no Duckling server",
    strict=False,
)
@REGISTRY.register("BuiltinEntityExtractor", PIPELINE, BuiltinEntitySettings)
def _builtin_entities(s: BuiltinEntitySettings, config: AgentConfig, ctx: Context) -> None:
    dims = []
    for dim in s.dimensions or sorted(DIMENSIONS):
        dim = DUCKLING_NAMES.get(str(dim), str(dim))
        if dim in DIMENSIONS:
            dims.append(dim)
        else:
            ctx.reader.warning(
                ctx.line_of("dimensions"),
                Warnings.NO_BUILTIN_EXTRACTOR,
                component=ctx.name,
                dimension=dim,
                dimensions=", ".join(sorted(DIMENSIONS)),
            )
    config.builtin_entities = sorted(set(config.builtin_entities or []) | set(dims))
    config.notes.append(
        f"{ctx.name}: built-in offline extractors for {', '.join(dims) or 'nothing'}"
        + (" (no Duckling server needed)" if ctx.name.rsplit(".", 1)[-1].startswith("Duckling") else "")
    )


@REGISTRY.register(
    "RegexEntityExtractor",
    PIPELINE,
    NoSettings,
    rasa_keys=_rasa("RegexEntityExtractor"),
    why_unused="regexes and lookup tables always match case-insensitively on word boundaries",
    strict=False,
)
def _regex_entities(s: NoSettings, config: AgentConfig, ctx: Context) -> None:
    config.regex_entities = True
    config.notes.append(f"{ctx.name}: regexes and lookup tables named after entities extract them")


@REGISTRY.register("EntitySynonymMapper", PIPELINE, NoSettings, rasa_keys=_rasa("EntitySynonymMapper"), strict=False)
def _synonyms(s: NoSettings, config: AgentConfig, ctx: Context) -> None:
    config.synonyms = True
    config.notes.append(f"{ctx.name}: synonyms map extracted values")


def _entity_head(s: NoSettings, config: AgentConfig, ctx: Context) -> None:
    config.notes.append(f"{ctx.name}: replaced by the entity head trained jointly with the intent classifier")


for _name in ("CRFEntityExtractor", "MitieEntityExtractor"):
    REGISTRY.register(
        _name,
        PIPELINE,
        NoSettings,
        rasa_keys=_rasa(_name),
        why_unused="the entity head trained with the intent classifier replaces it",
        strict=False,
    )(_entity_head)


@REGISTRY.register("SpacyEntityExtractor", PIPELINE, NoSettings, rasa_keys=_rasa("SpacyEntityExtractor"), strict=False)
def _spacy_entities(s: NoSettings, config: AgentConfig, ctx: Context) -> None:
    ctx.reader.warning(ctx.line, Warnings.SPACY_NER_OFFLINE)
    config.notes.append(f"{ctx.name}: skipped (annotated examples train our entity extractor instead)")


# ---- pipeline: FAQ ----


@dataclass
class FAQSettings:
    threshold: float | None = None
    max_weight: float | None = None
    encoder: str | None = None


def _faq(s: FAQSettings, config: AgentConfig, ctx: Context) -> None:
    if s.threshold is not None:
        config.faq.threshold = s.threshold
    if s.max_weight is not None:
        config.faq.max_weight = s.max_weight
    if s.encoder:
        config.faq.encoder = resolve_path(s.encoder, ctx.bot_dir)
    config.notes.append(f"{ctx.name}: retrieval intents and faq.yml answered by FAISS retrieval over their questions")


@REGISTRY.register("FAQRetriever", PIPELINE, FAQSettings)
def _faq_retriever(s: FAQSettings, config: AgentConfig, ctx: Context) -> None:
    _faq(s, config, ctx)
    config.faq.answer_unrecognised = True


REGISTRY.register(
    "ResponseSelector",
    PIPELINE,
    FAQSettings,
    rasa_keys=_rasa("ResponseSelector") - {"threshold"},
    why_unused="retrieval over the stored questions replaces the trained selector",
    strict=False,
)(_faq)


# ---- pipeline: sentiment ----


@dataclass
class SentimentSettings:
    threshold: float | None = None  # "negative" from this negative score on; default: the highest score wins
    frustration_threshold: float | None = None  # from this frustration score on, run frustration_action
    frustration_action: str = "action_handoff"


@REGISTRY.register("SentimentAnalyzer", PIPELINE, SentimentSettings)
def _sentiment(s: SentimentSettings, config: AgentConfig, ctx: Context) -> None:
    for key in ("threshold", "frustration_threshold"):
        value = getattr(s, key)
        if value is not None and not 0.0 <= value <= 1.0:
            ctx.reader.error(
                ctx.line_of(key), Errors.SETTING_OUT_OF_RANGE, component=ctx.name, key=key, low=0, high=1, value=value
            )
        else:
            setattr(config.sentiment, key, value)
    config.sentiment.frustration_action = s.frustration_action
    config.sentiment.enabled = True
    config.notes.append(
        f"{ctx.name}: every message gets a sentiment (negative, neutral or positive) from a head on the base encoder"
    )


# ---- policies ----


@dataclass
class RulePolicySettings:
    core_fallback_threshold: float | None = None
    core_fallback_action_name: str | None = None
    enable_fallback_prediction: bool | None = None


@REGISTRY.register("RulePolicy", POLICY, RulePolicySettings, rasa_keys=_rasa("RulePolicy"), strict=False)
def _rule_policy(s: RulePolicySettings, config: AgentConfig, ctx: Context) -> None:
    pc = config.policy
    for key in ("core_fallback_threshold", "core_fallback_action_name", "enable_fallback_prediction"):
        if getattr(s, key) is not None:
            setattr(pc, key, getattr(s, key))
    _use(config, "RulePolicy")


@dataclass
class MemoizationSettings:
    max_history: int | None = None


def _memoization(s: MemoizationSettings, config: AgentConfig, ctx: Context) -> None:
    pc = config.policy
    if s.max_history is not None:
        pc.max_history = s.max_history
    config.notes.append(f"{ctx.name}: replays stories by intents and actions, max_history {pc.max_history}")
    _use(config, ctx.name.rsplit(".", 1)[-1])


for _name in ("MemoizationPolicy", "AugmentedMemoizationPolicy"):
    REGISTRY.register(_name, POLICY, MemoizationSettings, rasa_keys=_rasa(_name), strict=False)(_memoization)


@dataclass
class TEDSettings:
    max_history: int | None = None
    epochs: int | None = None


@REGISTRY.register(
    "TEDPolicy",
    POLICY,
    TEDSettings,
    rasa_keys=_rasa("TEDPolicy"),
    why_unused="the learned policy is a small MLP over the last turns, not a transformer",
    strict=False,
)
def _ted(s: TEDSettings, config: AgentConfig, ctx: Context) -> None:
    pc = config.policy
    if s.max_history is not None:
        pc.max_history = s.max_history
    asked = pc.ted_epochs if s.epochs is None else s.epochs
    pc.ted_epochs = min(asked, TED_MAX_EPOCHS)
    config.notes.append(
        f"{ctx.name}: learned dialogue policy (MLP over the last {pc.max_history} turns), "
        f"{pc.ted_epochs} epochs"
        + (f" (asked {asked}; {TED_MAX_EPOCHS} already converge)" if asked > TED_MAX_EPOCHS else "")
    )
    _use(config, "TEDPolicy")


@REGISTRY.register(
    "UnexpecTEDIntentPolicy", POLICY, NoSettings, rasa_keys=_rasa("UnexpecTEDIntentPolicy"), strict=False
)
def _unexpected(s: NoSettings, config: AgentConfig, ctx: Context) -> None:
    config.notes.append(f"{ctx.name}: not available; skipped")


def _use(config: AgentConfig, policy: str) -> None:
    if policy not in config.policy.policies:
        config.policy.policies.append(policy)
