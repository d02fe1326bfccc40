"""What a single message says about the customer's temper besides its sentiment: profanity, shouting,
and asking for a person. Rules and word lists, English and Chinese; the conversation-level frustration
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
_HUMAN_EN = re.compile(
    r"\b(human|real person|a person|someone real|(live |human |real )?agent|representative|operator|"
    r"customer service|your manager|supervisor)\b",
    re.IGNORECASE,
)
_HUMAN_ZH = ("人工", "真人", "客服人员", "找你们领导", "找领导", "活人")
_ZH_HOUSEHOLD = re.compile("垃圾(桶|袋|分类|箱)")  # things the shop sells, not insults


@functools.cache
def _words(language: str) -> tuple[str, ...]:
    text = resources.files("agent.nlu.sentiment").joinpath(f"lexicon/profanity_{language}.txt").read_text("utf-8")
    return tuple(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@functools.cache
def _english_profanity() -> re.Pattern:
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in _words("en")) + r")\b", re.IGNORECASE)


def profanity(text: str) -> bool:
    if _english_profanity().search(text):
        return True
    text = _ZH_HOUSEHOLD.sub("", text)
    return any(word in text for word in _words("zh"))


def shouting(text: str) -> bool:
    """Mostly capitals over enough letters (order numbers aside), or a run of three exclamation marks."""
    if _BANGS.search(text):
        return True
    letters = _LATIN.findall(_ORDER_IDS.sub(" ", text))
    return len(letters) >= MIN_SHOUT_LETTERS and sum(c.isupper() for c in letters) / len(letters) >= SHOUT_SHARE


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN_EN.search(text)) or any(word in text for word in _HUMAN_ZH)


def signals(text: str) -> dict[str, bool]:
    return {"profanity": profanity(text), "shouting": shouting(text), "asks_for_human": asks_for_human(text)}
