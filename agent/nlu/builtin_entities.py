"""Built-in entities without a Duckling server: numbers, amounts of money, dates and times, emails,
phone numbers, URLs and order-id-like codes, normalised to Duckling-like values so Rasa bots that
used Duckling keep their slot values. Each language finds them its own way (agent/nlu/lang/<code>/:
spaCy's Matcher for English, regular expressions for Chinese); this module holds what they share:
the extractor that dispatches by language, the entity shape, and how overlapping finds are settled."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agent.bot.builtin_dimensions import DIMENSIONS

EXTRACTOR = "BuiltinEntityExtractor"

# Latin-script shapes every language meets (Chinese reuses them with ASCII-only \w, \d, \s).
PHONE = re.compile(r"(?<![\w+#])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?!\w)")
ORDER_ID = re.compile(
    r"(?<![\w-])(?:#\d{4,}|(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"
    r"|(?=[A-Za-z]*\d)[A-Za-z]{1,5}\d{4,})(?![\w-])"
)

# Longer, more specific dimensions win over the numbers inside them.
PRIORITY = {"email": 0, "url": 1, "amount-of-money": 2, "time": 3, "order-id": 4, "phone-number": 5, "number": 6}

Extract = Callable[[str, Iterable[str], dt.datetime | None], list[dict]]


@dataclass
class BuiltinEntityExtractor:
    """One per language a bot speaks: the interpreter picks it by the message's detected language."""

    dimensions: list[str] = field(default_factory=lambda: sorted(DIMENSIONS))
    now: dt.datetime | None = None  # fixed "now" for reproducible tests; None: the clock
    language: str = "en"  # "zh*": regular expressions for Chinese, no spaCy pipeline

    def __post_init__(self) -> None:
        self._extract = language_extractor(self.language)

    def extract(self, text: str) -> list[dict]:
        return self._extract(text, self.dimensions, self.now)

    def to_dict(self) -> dict:
        if self.language != "en":
            return {"dimensions": self.dimensions, "language": self.language}
        return {"dimensions": self.dimensions}


def language_extractor(language: str) -> Extract:
    """The extraction for `language`, built now so a missing dependency fails at load, not per message;
    Chinese must not need spaCy, so each language is imported only when asked for."""
    if language.lower().startswith("zh"):
        from agent.nlu.lang.zh.entities import extract_zh

        return extract_zh
    from agent.nlu.lang.en.entities import EnglishEntities

    return EnglishEntities().extract


def resolve_overlaps(found: list[dict]) -> list[dict]:
    """One entity per stretch of text: by PRIORITY, then the longer span, then the earlier one."""
    ordered = sorted(found, key=lambda e: (PRIORITY[e["entity"]], -(e["end"] - e["start"]), e["start"]))
    kept: list[dict] = []
    for e in ordered:
        if all(e["end"] <= k["start"] or e["start"] >= k["end"] for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: e["start"])


def builtin_entity(dim: str, start: int, end: int, text: str, value) -> dict:
    """The entity dict every language returns; money and time keep Duckling's details in additional_info."""
    entity = {
        "entity": dim,
        "start": start,
        "end": end,
        "text": text[start:end],
        "value": value,
        "confidence_entity": 1.0,
        "extractor": EXTRACTOR,
    }
    if dim in ("amount-of-money", "time"):
        entity["value"] = value["value"]
        entity["additional_info"] = value
    return entity


def safe_date(year: int, month: int, day: int) -> dt.date | None:
    """A date, or None for one the calendar lacks (February 30th), so parsers can reject it."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
