"""A bot of rules only, without an NLU model: the processor tests drive it with payload messages."""

from __future__ import annotations

import random

from agent.bot.handoff_settings import HandoffSettings
from agent.bot.project import load_bot
from agent.core.actions.registry import ActionRegistry
from agent.core.nlg import ResponseGenerator
from agent.core.policies.ensemble import PolicyEnsemble
from agent.core.policies.rule import RulePolicy
from agent.core.processor import MessageProcessor
from agent.core.training_data import TrainingData
from agent.nlu.payload import parse_payload
from agent.stores.base import InMemoryTrackerStore
from tests.helpers.bot_factory import write_bot
from tests.helpers.fakes import as_parser


def rule_processor(
    folder, domain: str, rules: str, *, parse=None, server=None, handoff: HandoffSettings | None = None, store=None
) -> MessageProcessor:
    """The bot written to `folder`, its rules trained, answering through `server` (an action server)."""
    bot = load_bot(write_bot(folder, domain=domain, nlu=None, rules=rules))
    policy = RulePolicy()
    policy.train(TrainingData.compile(bot.stories, bot.rules, bot.domain))
    handoff = handoff or HandoffSettings()
    return MessageProcessor(
        bot.domain,
        as_parser(parse or (lambda text: parse_payload(text) or {})),
        PolicyEnsemble([policy], bot.config.policy),
        store or InMemoryTrackerStore(),
        ResponseGenerator(bot.domain, random.Random(0)),
        ActionRegistry(bot.domain, server, handoff=handoff),
        handoff,
    )
