"""A trained bot, ready to talk: load an artifact and wire NLU, policies, actions and the store."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from agent.bot.config import AgentConfig
from agent.bot.domain import Domain, parse_domain
from agent.bot.endpoints import Endpoints
from agent.bot.schema import Reader
from agent.core.actions.custom import (
    ActionServerUnavailable,
    HttpActionServer,
    InProcessActionServer,
    find_actions_code,
)
from agent.core.actions.registry import ActionRegistry
from agent.core.nlg import ResponseGenerator
from agent.core.policies.catalogue import load_policies
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.processor import MessageProcessor, TurnResult, UserMessage
from agent.errors import Problems
from agent.faq.bank import FAQBank
from agent.faq.decision import FAQRouter
from agent.faq.embedder import load_embedder
from agent.faq.reference import IntentReference
from agent.faq.threshold import FAQThreshold
from agent.faq.training import SETTINGS_FILE
from agent.model.artifact import PARTS_FILE, Artifact, open_artifact
from agent.nlu.intent_model import IntentClassifier
from agent.nlu.interpreter import ENTITY_SETTINGS_FILE, NLUInterpreter
from agent.nlu.sentiment import OWN, SentimentAnalyzer
from agent.stores.base import InMemoryTrackerStore, TrackerStore


def action_registry(domain: Domain, artifact: Artifact, endpoints: Endpoints) -> ActionRegistry:
    """An action server from endpoints.yml wins; else the bot's own actions code, run in process."""
    window, handoff = endpoints.action_events, endpoints.handoff
    if endpoints.action_url:
        return ActionRegistry(
            domain,
            HttpActionServer(endpoints.action_url, endpoints.action_timeout),
            events_window=window,
            handoff=handoff,
        )
    code = find_actions_code(artifact.folder)
    if code is None:
        return ActionRegistry(domain, handoff=handoff)
    try:
        return ActionRegistry(domain, InProcessActionServer(code), events_window=window, handoff=handoff)
    except ActionServerUnavailable as exc:
        return ActionRegistry(domain, server_error=str(exc), handoff=handoff)


def load_nlu(folder: Path, config: AgentConfig) -> NLUInterpreter:
    """The intent classifier and the rule-based entity settings saved beside it."""
    entities = json.loads((folder / ENTITY_SETTINGS_FILE).read_text(encoding="utf-8"))
    return NLUInterpreter.build(IntentClassifier.load(folder), config, entities)


def load_faq(folder: Path, config: AgentConfig | None = None) -> FAQRouter | None:
    """The model's FAQ bank with its thresholds (none for a bot without an FAQ)."""
    if not (folder / SETTINGS_FILE).is_file():
        return None
    settings = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    bank = FAQBank.load(folder, load_embedder(folder, Path(settings["base_model"])))
    return FAQRouter(
        bank,
        FAQThreshold.from_dict(settings["threshold"]),
        IntentReference.load(folder),
        settings["answer_unrecognised"],
    )


def load_sentiment(folder: Path, config: AgentConfig | None = None) -> SentimentAnalyzer:
    """The sentiment head with its own exported encoder, or none when it reads the FAQ's vectors."""
    settings = SentimentAnalyzer.read_settings(folder)
    embedder = None
    if settings["embedder"] == OWN:
        base = settings.get("base_model")
        embedder = load_embedder(folder, Path(base) if base else None)
    return SentimentAnalyzer.load(folder, embedder)


# What each part of a model is and how it loads: the model's parts.json lists the parts it has, each
# in its own folder of that name, and loading goes through that list.
PART_LOADERS = {
    "nlu": load_nlu,
    "faq": load_faq,
    "sentiment": load_sentiment,
    "core": lambda folder, config: load_policies(folder),
}


def load_parts(artifact: Artifact, config: AgentConfig) -> dict[str, object]:
    """Every part the model lists (its format version, checked on opening, guarantees we know them)."""
    return {name: PART_LOADERS[name](artifact.folder / name, config) for name in artifact.read_json(PARTS_FILE)}


@dataclass
class Agent:
    artifact: Artifact
    domain: Domain
    config: AgentConfig
    interpreter: NLUInterpreter
    processor: MessageProcessor

    @classmethod
    def load(
        cls,
        path: str | Path,
        store: TrackerStore | None = None,
        seed: int | None = None,
        endpoints: Endpoints | None = None,
    ) -> Agent:
        artifact = open_artifact(path)
        problems = Problems()
        domain = parse_domain(artifact.read_json("domain.json"), "domain.json", Reader("model:domain.json", problems))
        problems.raise_if_errors()
        config = AgentConfig.from_dict(artifact.read_json("config.json"))
        parts = load_parts(artifact, config)
        interpreter = parts["nlu"]
        interpreter.faq = parts.get("faq")
        interpreter.sentiment = parts.get("sentiment")
        ensemble = PolicyEnsemble(parts["core"], config.policy)
        endpoints = endpoints or Endpoints()
        processor = MessageProcessor(
            domain,
            interpreter.parse_async,
            ensemble,
            store or InMemoryTrackerStore(),
            ResponseGenerator(domain, random.Random(seed)),
            action_registry(domain, artifact, endpoints),
            endpoints.handoff,
            config.sentiment,
        )
        return cls(artifact, domain, config, interpreter, processor)

    async def handle_text(self, text: str, sender_id: str = "default", channel: str | None = None) -> TurnResult:
        return await self.processor.handle_message(UserMessage(text, sender_id, channel))
