"""Frustration across the conversation: a score in [0, 1] from the customer's last few messages, with
the evidence behind it, so a bot can apologise, and hand over before the customer gives up.

Evidence per message (the newest counts fully, each older one DECAY times less): its negative sentiment
above a floor, anger words, profanity, shouting, asking for a person (agent.nlu.sentiment.signals),
falling back; and each request repeated in a row. score = 1 - exp(-evidence): one furious message with
an angry word or a swear word crosses 0.7; negative sentiment alone does not, nor a calm complaint.
docs/benchmarks.md says how the weights were chosen and how they do on written conversations."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from agent.core.events import UserUttered

WINDOW = 3  # user messages looked at
DECAY = 0.6
NEGATIVE_FLOOR = 0.3  # a negative score below this says nothing
WEIGHTS = {
    "negative": 1.0,  # at a negative score of 1.0: alone it cannot pass 0.63
    "anger": 0.8,
    "profanity": 1.0,
    "shouting": 0.6,
    "asks_for_human": 0.8,
    "fallback": 0.3,
    "repeated": 0.3,  # per request repeated in a row
}
NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})  # the bot could not follow (or mashed keys)
# asking these again is conversation, not frustration
NOT_UNDERSTOOD = frozenset({"nlu_fallback", "out_of_scope"})  # the bot could not follow (or mashed keys)
# asking these again is conversation, not frustration (faq covers many different questions)
UNREMARKABLE = frozenset(
    {"greet", "goodbye", "affirm", "deny", "thank_you", "inform", "out_of_scope", "nlu_fallback", "faq", "chitchat"}
)


@dataclass(frozen=True)
class Frustration:
    score: float = 0.0
    evidence: dict[str, float] = field(default_factory=dict)  # per signal, after weights and decay


def frustration(messages: list[UserUttered]) -> Frustration:
    """The score after `messages` (oldest first; the last WINDOW count)."""
    recent = messages[-WINDOW:]
    evidence: dict[str, float] = defaultdict(float)
    for age, message in enumerate(reversed(recent)):
        weight = DECAY**age
        sentiment = message.parse_data.get("sentiment") or {}
        negative = float((sentiment.get("scores") or {}).get("negative", 0.0))
        if negative > NEGATIVE_FLOOR:
            evidence["negative"] += weight * WEIGHTS["negative"] * (negative - NEGATIVE_FLOOR) / (1 - NEGATIVE_FLOOR)
        for signal, present in (sentiment.get("signals") or {}).items():
            if present and signal in WEIGHTS:
                evidence[signal] += weight * WEIGHTS[signal]
        if message.intent_name in NOT_UNDERSTOOD:
            evidence["fallback"] += weight * WEIGHTS["fallback"]
    intents = [(m.intent_name or "").split("/")[0] for m in recent]
    for before, after in zip(intents, intents[1:]):
        if after and after == before and after not in UNREMARKABLE:
            evidence["repeated"] += WEIGHTS["repeated"]
    total = sum(evidence.values())
    return Frustration(round(1.0 - math.exp(-total), 4), {k: round(v, 3) for k, v in evidence.items() if v})
