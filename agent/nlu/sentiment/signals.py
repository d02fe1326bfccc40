"""What a single message says about the customer's temper besides its sentiment: anger words,
profanity, shouting, and asking for a person. Rules and word lists, English and Chinese; the conversation-level frustration
score (agent.core.frustration) combines them with the sentiment over the last turns."""

from __future__ import annotations

import functools
import re
from importlib import resources

MIN_SHOUT_LETTERS = 8  # fewer capitals than this is an acronym ("ORD", "DHL"), not shouting
SHOUT_SHARE = 0.7
_BANGS = re.compile(r"[!！]{3,}")
_LATIN = re.compile(r"[A-Za-z]")
_ORDER_IDS = re.compile(r"\b[A-Z]{2,}-?\d+\b")  # order numbers are capitals by nature
# asking for a person, not asking whether we are one ("are you a person?")
_HUMAN_EN = re.compile(
    r"\b((talk|speak|chat|connect|transfer|put|get|give)\s+(me\s+)?(to|with|through to)?\s*"
    r"(a|an|the|some|your)?\s*(real|live|actual|human)?\s*(human|person|agent|representative|operator|someone|manager|"
    r"supervisor)|real person|real human|human (please|now)|agent (please|now)|representative)\b",
    re.IGNORECASE,
)
_HUMAN_ZH = (
    "转人工",
    "人工客服",
    "找人工",
    "要人工",
    "人工服务",
    "真人客服",
    "转真人",
    "找真人",
    "找你们领导",
    "叫你们领导",
)
_ZH_HOUSEHOLD = re.compile("垃圾(桶|袋|分类|箱)")  # things the shop sells, not insults


@functools.cache
def _words(name: str) -> tuple[str, ...]:
    text = resources.files("agent.nlu.sentiment").joinpath(f"lexicon/{name}.txt").read_text("utf-8")
    return tuple(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@functools.cache
def _english(kind: str) -> re.Pattern:
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in _words(f"{kind}_en")) + r")(?!\w)", re.IGNORECASE)


def profanity(text: str) -> bool:
    if _english("profanity").search(text):
        return True
    text = _ZH_HOUSEHOLD.sub("", text)
    return any(word in text for word in _words("profanity_zh"))


def anger(text: str) -> bool:
    """Words of anger and exasperation ("ridiculous", "fed up", "受够了"), beyond plain negative ones."""
    return bool(_english("anger").search(text)) or any(word in text for word in _words("anger_zh"))


def shouting(text: str) -> bool:
    """Mostly capitals over enough letters (order numbers aside), or a run of three exclamation marks."""
    if _BANGS.search(text):
        return True
    letters = _LATIN.findall(_ORDER_IDS.sub(" ", text))
    return len(letters) >= MIN_SHOUT_LETTERS and sum(c.isupper() for c in letters) / len(letters) >= SHOUT_SHARE


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN_EN.search(text)) or any(word in text for word in _HUMAN_ZH)


def signals(text: str) -> dict[str, bool]:
    return {
        "anger": anger(text),
        "profanity": profanity(text),
        "shouting": shouting(text),
        "asks_for_human": asks_for_human(text),
    }
