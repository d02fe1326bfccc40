"""English built-in entities: spaCy's rule-based Matcher on a blank English pipeline (its tokenizer and
lexical attributes ship with spaCy; no model download) finds numbers, money, times, emails and URLs;
regular expressions find phone numbers and order ids. Values are Duckling-like."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from agent.nlu.builtin_entities import ORDER_ID, PHONE, builtin_entity, resolve_overlaps, safe_date

if TYPE_CHECKING:
    from spacy.matcher import Matcher

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a": 1,
}
SCALES = {
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "k": 1000,
    "m": 1_000_000,
    "bn": 1_000_000_000,
}
CURRENCIES = {
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "bucks": "USD",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "¥": "CNY",
    "cny": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
    "jpy": "JPY",
    "yen": "JPY",
    "cent": "cent",
    "cents": "cent",
    "inr": "INR",
    "rupees": "INR",
    "₹": "INR",
    "chf": "CHF",
    "cad": "CAD",
    "aud": "AUD",
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "yesterday": -1}
ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")

# Matcher token patterns: a number-like token, then any further number words.
NUMBER_TOKEN = {"LIKE_NUM": True}
MORE_NUMBER = {"LOWER": {"IN": [*UNITS, *SCALES, "and", "-"]}, "OP": "*"}


class EnglishEntities:
    """The Matcher is built once per extractor: building it costs far more than matching a message."""

    def __init__(self) -> None:
        import spacy
        from spacy.matcher import Matcher

        self.nlp = spacy.blank("en")
        self.matcher = Matcher(self.nlp.vocab)
        _add_numbers(self.matcher)
        _add_money(self.matcher)
        _add_times(self.matcher)
        self.matcher.add("email", [[{"LIKE_EMAIL": True}]])
        self.matcher.add("url", [[{"LIKE_URL": True}]])

    def extract(self, text: str, dimensions: Iterable[str], now: dt.datetime | None = None) -> list[dict]:
        """Entities of the wanted dimensions in English text, overlaps resolved."""
        wanted = set(dimensions)
        found = self._matched(text, wanted, now)
        if "phone-number" in wanted:
            found += _phones(text)
        if "order-id" in wanted:
            found += [
                builtin_entity("order-id", m.start(), m.end(), text, m.group(0).upper())
                for m in ORDER_ID.finditer(text)
            ]
        return resolve_overlaps(found)

    def _matched(self, text: str, wanted: set[str], now: dt.datetime | None) -> list[dict]:
        """The Matcher's spans of wanted dimensions whose words parse to a value."""
        doc = self.nlp(text)
        found: list[dict] = []
        for match_id, start, end in self.matcher(doc):
            dim = self.nlp.vocab.strings[match_id]
            if dim not in wanted:
                continue
            span = doc[start:end]
            value = _value(dim, [t.text for t in span], now)
            if value is not None:
                found.append(builtin_entity(dim, span.start_char, span.end_char, text, value))
        return found


def _add_numbers(matcher: Matcher) -> None:
    """'3', 'twenty five', 'one hundred and twenty', '2k'."""
    matcher.add(
        "number",
        [
            [NUMBER_TOKEN, MORE_NUMBER],
            [{"LOWER": {"IN": [*UNITS, *SCALES]}}, MORE_NUMBER],
            [{"LOWER": {"REGEX": r"^\d+(\.\d+)?(k|m|bn)$"}}],
        ],
    )


def _add_money(matcher: Matcher) -> None:
    """'$25.50', '$3 million', 'twenty five euros', '€30'."""
    symbols = [k for k in CURRENCIES if not k.isalpha()]
    words = [k for k in CURRENCIES if k.isalpha()]
    matcher.add(
        "amount-of-money",
        [
            [{"ORTH": {"IN": symbols}}, NUMBER_TOKEN, {"LOWER": {"IN": list(SCALES)}, "OP": "?"}],
            [NUMBER_TOKEN, MORE_NUMBER, {"LOWER": {"IN": words + symbols}}],
            [{"LOWER": {"REGEX": r"^[$€£¥₹]\d[\d,]*(\.\d+)?[km]?$"}}],
        ],
    )


def _add_times(matcher: Matcher) -> None:
    """Relative days, weekdays, next week / month, 'in 2 weeks', calendar dates and clock times."""
    day_words = [*WEEKDAYS, *[d[:3] for d in WEEKDAYS]]
    month_words = [*MONTHS, *MONTH_ABBR]
    matcher.add(
        "time",
        [
            [{"LOWER": {"IN": list(RELATIVE_DAYS)}}],
            [{"LOWER": {"IN": ["next", "this", "last", "on", "coming"]}, "OP": "?"}, {"LOWER": {"IN": day_words}}],
            [{"LOWER": {"IN": ["next", "this", "last"]}}, {"LOWER": {"IN": ["week", "month", "year", "weekend"]}}],
            [{"LOWER": "in"}, {"LIKE_NUM": True}, {"LOWER": {"IN": ["day", "days", "week", "weeks", "hours", "hour"]}}],
            [
                {"LOWER": {"IN": month_words}},
                {"LOWER": {"REGEX": r"^\d{1,2}(st|nd|rd|th)?$"}},
                {"ORTH": ",", "OP": "?"},
                {"SHAPE": "dddd", "OP": "?"},
            ],
            [
                {"LOWER": {"REGEX": r"^\d{1,2}(st|nd|rd|th)?$"}},
                {"LOWER": "of", "OP": "?"},
                {"LOWER": {"IN": month_words}},
                {"SHAPE": "dddd", "OP": "?"},
            ],
            [{"TEXT": {"REGEX": r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}/\d{1,2}(/\d{2,4})?$"}}],
            [
                {"LOWER": "at", "OP": "?"},
                {"TEXT": {"REGEX": r"^\d{1,2}(:\d{2})?$"}},
                {"LOWER": {"IN": ["am", "pm", "a.m.", "p.m."]}},
            ],
            [{"LOWER": {"REGEX": r"^\d{1,2}(:\d{2})?(am|pm)$"}}],
            [{"LOWER": "at"}, {"TEXT": {"REGEX": r"^\d{1,2}:\d{2}$"}}],
            [{"TEXT": {"REGEX": r"^\d{1,2}:\d{2}$"}}],
        ],
    )


def _value(dim: str, words: list[str], now: dt.datetime | None):
    """The Duckling-like value of a matched span, or None when its words do not parse."""
    if dim == "number":
        return parse_number(words)
    if dim == "amount-of-money":
        return parse_money(words)
    if dim == "time":
        return parse_time([w.lower() for w in words], now or dt.datetime.now())
    return "".join(words) if dim in ("email", "url") else None


def _phones(text: str) -> list[dict]:
    """7 to 15 digits, not a date or clock time such as 12/03/2026; a leading '+' is kept."""
    found = []
    for m in PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 7 <= len(digits) <= 15 and not re.fullmatch(r"\d{1,2}[:/]\d{1,2}.*", m.group(0)):
            found.append(
                builtin_entity(
                    "phone-number", m.start(), m.end(), text, ("+" if m.group(0).startswith("+") else "") + digits
                )
            )
    return found


def parse_number(words: list[str]) -> int | float | None:
    """'3', '1,200', '2.5', 'twenty five', 'one hundred and twenty', '3 thousand', '2k'."""
    words = [w.lower().replace(",", "") for w in words if w not in ("-",)]
    if words and words[-1] == "and":
        words = words[:-1]
    total, current, seen = 0.0, 0.0, False
    for w in words:
        if w == "and":
            continue
        m = re.fullmatch(r"(\d+(?:\.\d+)?)([km]|bn)?", w)
        if m:
            current += float(m.group(1)) * SCALES.get(m.group(2) or "", 1)
        elif w in UNITS:
            current += UNITS[w]
        elif w in SCALES:
            scale = SCALES[w]
            current = (current or 1) * scale
            if scale >= 1000:
                total, current = total + current, 0.0
        else:
            return None
        seen = True
    if not seen:
        return None
    value = total + current
    return int(value) if value == int(value) else value


def parse_money(words: list[str]) -> dict | None:
    """{'value', 'unit'} from a currency word or symbol and a number; cents become dollars."""
    unit = None
    rest = []
    for w in words:
        lw = w.lower()
        if lw in CURRENCIES and not re.fullmatch(r"\d.*", lw):
            unit = CURRENCIES[lw]
        elif lw[:1] in "$€£¥₹" and len(lw) > 1:
            unit = CURRENCIES[lw[0]]
            rest.append(lw[1:])
        else:
            rest.append(w)
    amount = parse_number(rest)
    if amount is None or unit is None:
        return None
    if unit == "cent":
        return {"value": amount / 100, "unit": "USD"}
    return {"value": amount, "unit": unit}


def parse_time(words: list[str], now: dt.datetime) -> dict | None:
    """Duckling-style ISO value with a grain ('day', 'week', 'hour', 'minute')."""
    today = now.date()
    words = [w for w in words if w not in ("on", "at", "of", ",", "the", "coming")]
    if not words:
        return None
    first = words[0]
    if len(words) == 1 and first in RELATIVE_DAYS:
        day = today + dt.timedelta(days=RELATIVE_DAYS[first])
        return _day_value(day, 18 if first == "tonight" else None)
    if words[0] in ("next", "this", "last") and len(words) == 2 and words[1] in ("week", "month", "year", "weekend"):
        return _period(words[0], words[1], today)
    weekday = _weekday(words[-1])
    if weekday is not None and len(words) <= 2:
        return _day_value(today + dt.timedelta(days=_days_to_weekday(words[0], weekday, today)))
    if words[0] == "in" and len(words) == 3:
        return _in(words[1], words[2], now)
    date = _calendar_date(words, today)
    if date is not None:
        return _day_value(date)
    return _clock(words, today)


def _period(which: str, period: str, today: dt.date) -> dict:
    """next / this / last week, weekend, month or year: its first day, with that grain."""
    step = {"next": 1, "this": 0, "last": -1}[which]
    if period in ("week", "weekend"):
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=step)
        day = monday + dt.timedelta(days=5) if period == "weekend" else monday
        return {"value": day.isoformat(), "grain": "week" if period == "week" else "day"}
    if period == "month":
        month = today.month - 1 + step
        return {"value": dt.date(today.year + month // 12, month % 12 + 1, 1).isoformat(), "grain": "month"}
    return {"value": dt.date(today.year + step, 1, 1).isoformat(), "grain": "year"}


def _days_to_weekday(first: str, weekday: int, today: dt.date) -> int:
    """'friday' is the next one, today included; 'next friday' never today; 'last friday' in the past."""
    ahead = (weekday - today.weekday()) % 7
    if first == "next":
        return ahead or 7
    if first == "last":
        return ahead - 7 if ahead else -7
    return ahead


def _in(amount: str, unit: str, now: dt.datetime) -> dict | None:
    """'in 2 hours' (hour grain), 'in 3 days', 'in 2 weeks' (day grain)."""
    n = parse_number([amount])
    if n is None:
        return None
    if unit.startswith("hour"):
        return {"value": (now + dt.timedelta(hours=n)).replace(second=0, microsecond=0).isoformat(), "grain": "hour"}
    days = n * (7 if unit.startswith("week") else 1)
    return _day_value(now.date() + dt.timedelta(days=days))


def _weekday(word: str) -> int | None:
    for i, d in enumerate(WEEKDAYS):
        if word == d or word == d[:3]:
            return i
    return None


def _month(word: str) -> int | None:
    if word in MONTHS:
        return MONTHS.index(word) + 1
    return MONTH_ABBR.get(word)


def _calendar_date(words: list[str], today: dt.date) -> dt.date | None:
    """2026-12-03, 12/3, 25/12/2026, 'march 3rd', '3 december 2026'; a past month-day means next year."""
    if len(words) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[0]):
        return safe_date(*map(int, words[0].split("-")))
    if len(words) == 1 and "/" in words[0]:
        return _slash_date(words[0], today)
    month = day = year = None
    for w in words:
        m = _month(w)
        if m is not None:
            month = m
            continue
        d = ORDINAL.fullmatch(w) or re.fullmatch(r"(\d{1,2})", w)
        if d and day is None:
            day = int(d.group(1))
        elif re.fullmatch(r"\d{4}", w):
            year = int(w)
    if month is None or day is None:
        return None
    date = safe_date(year or today.year, month, day)
    if date is not None and year is None and date < today:  # "march 3" in November means next March
        date = safe_date(today.year + 1, month, day)
    return date


def _slash_date(word: str, today: dt.date) -> dt.date | None:
    """12/3 is month first, 25/12 day first (no month 25); a two-digit year is in this century."""
    parts = [int(p) for p in word.split("/")]
    month, day = parts[0], parts[1]
    if month > 12:  # 25/12: day first
        month, day = day, month
    year = parts[2] if len(parts) == 3 else today.year
    return safe_date(year + 2000 if year < 100 else year, month, day)


def _clock(words: list[str], today: dt.date) -> dict | None:
    """'3pm', '10:30', '12 am': today's date at that time."""
    joined = "".join(words).replace(".", "")
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(am|pm)?", joined)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    if m.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return None
    value = dt.datetime.combine(today, dt.time(hour, minute))
    return {"value": value.isoformat(), "grain": "minute" if minute else "hour"}


def _day_value(day: dt.date, hour: int | None = None) -> dict:
    if hour is not None:
        return {"value": dt.datetime.combine(day, dt.time(hour)).isoformat(), "grain": "hour"}
    return {"value": day.isoformat(), "grain": "day"}
