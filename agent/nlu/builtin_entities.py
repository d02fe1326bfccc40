"""Built-in entities without a Duckling server: numbers, amounts of money, dates and times, emails,
phone numbers, URLs and order-id-like codes, found by spaCy's rule-based Matcher on a blank English
pipeline (its tokenizer and lexical attributes ship with spaCy; no model download) and normalised to
Duckling-like values so Rasa bots that used Duckling keep their slot values. With `language="zh..."`
the extractor hands Chinese text to regular expressions instead (builtin_entities_zh), same shapes."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

EXTRACTOR = "BuiltinEntityExtractor"
DIMENSIONS = {"number", "amount-of-money", "time", "email", "phone-number", "url", "order-id"}
DUCKLING_NAMES = {"money": "amount-of-money", "amount_of_money": "amount-of-money", "date": "time",
                  "datetime": "time", "phone": "phone-number", "phone_number": "phone-number",
                  "order_id": "order-id", "duration": "duration"}

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
         "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a": 1}
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000,
          "k": 1000, "m": 1_000_000, "bn": 1_000_000_000}
CURRENCIES = {"$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "€": "EUR",
              "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP",
              "pounds": "GBP", "¥": "CNY", "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "jpy": "JPY", "yen": "JPY",
              "cent": "cent", "cents": "cent", "inr": "INR", "rupees": "INR", "₹": "INR", "chf": "CHF",
              "cad": "CAD", "aud": "AUD"}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "yesterday": -1}

PHONE = re.compile(r"(?<![\w+#])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?!\w)")
ORDER_ID = re.compile(r"(?<![\w-])(?:#\d{4,}|(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+"
                      r"|(?=[A-Za-z]*\d)[A-Za-z]{1,5}\d{4,})(?![\w-])")
CLOCK = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")


@dataclass
class BuiltinEntityExtractor:
    dimensions: list[str] = field(default_factory=lambda: sorted(DIMENSIONS))
    now: dt.datetime | None = None  # fixed "now" for reproducible tests; None: the clock
    language: str = "en"  # "zh*": regular expressions for Chinese (builtin_entities_zh), no spaCy pipeline

    def __post_init__(self):
        self.chinese = self.language.lower().startswith("zh")
        if self.chinese:
            return
        import spacy
        from spacy.matcher import Matcher

        self.nlp = spacy.blank("en")
        self.matcher = Matcher(self.nlp.vocab)
        number = {"LIKE_NUM": True}
        more = {"LOWER": {"IN": [*UNITS, *SCALES, "and", "-"]}, "OP": "*"}
        self.matcher.add("number", [[number, more], [{"LOWER": {"IN": [*UNITS, *SCALES]}}, more],
                                    [{"LOWER": {"REGEX": r"^\d+(\.\d+)?(k|m|bn)$"}}]])
        symbols = [k for k in CURRENCIES if not k.isalpha()]
        words = [k for k in CURRENCIES if k.isalpha()]
        self.matcher.add("amount-of-money", [
            [{"ORTH": {"IN": symbols}}, number, {"LOWER": {"IN": list(SCALES)}, "OP": "?"}],
            [number, more, {"LOWER": {"IN": words + symbols}}],
            [{"LOWER": {"REGEX": r"^[$€£¥₹]\d[\d,]*(\.\d+)?[km]?$"}}],
        ])
        day_words = [*WEEKDAYS, *[d[:3] for d in WEEKDAYS]]
        month_words = [*MONTHS, *MONTH_ABBR]
        self.matcher.add("time", [
            [{"LOWER": {"IN": list(RELATIVE_DAYS)}}],
            [{"LOWER": {"IN": ["next", "this", "last", "on", "coming"]}, "OP": "?"}, {"LOWER": {"IN": day_words}}],
            [{"LOWER": {"IN": ["next", "this", "last"]}}, {"LOWER": {"IN": ["week", "month", "year", "weekend"]}}],
            [{"LOWER": "in"}, {"LIKE_NUM": True}, {"LOWER": {"IN": ["day", "days", "week", "weeks", "hours", "hour"]}}],
            [{"LOWER": {"IN": month_words}}, {"LOWER": {"REGEX": r"^\d{1,2}(st|nd|rd|th)?$"}},
             {"ORTH": ",", "OP": "?"}, {"SHAPE": "dddd", "OP": "?"}],
            [{"LOWER": {"REGEX": r"^\d{1,2}(st|nd|rd|th)?$"}}, {"LOWER": "of", "OP": "?"},
             {"LOWER": {"IN": month_words}}, {"SHAPE": "dddd", "OP": "?"}],
            [{"TEXT": {"REGEX": r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}/\d{1,2}(/\d{2,4})?$"}}],
            [{"LOWER": "at", "OP": "?"}, {"TEXT": {"REGEX": r"^\d{1,2}(:\d{2})?$"}}, {"LOWER": {"IN": ["am", "pm", "a.m.", "p.m."]}}],
            [{"LOWER": {"REGEX": r"^\d{1,2}(:\d{2})?(am|pm)$"}}],
            [{"LOWER": "at"}, {"TEXT": {"REGEX": r"^\d{1,2}:\d{2}$"}}],
            [{"TEXT": {"REGEX": r"^\d{1,2}:\d{2}$"}}],
        ])
        self.matcher.add("email", [[{"LIKE_EMAIL": True}]])
        self.matcher.add("url", [[{"LIKE_URL": True}]])

    def extract(self, text: str) -> list[dict]:
        if self.chinese:
            from agent.nlu.builtin_entities_zh import extract_zh

            return extract_zh(text, self.dimensions, self.now)
        wanted = set(self.dimensions)
        doc = self.nlp(text)
        found: list[dict] = []
        for match_id, start, end in self.matcher(doc):
            dim = self.nlp.vocab.strings[match_id]
            if dim not in wanted:
                continue
            span = doc[start:end]
            value = self._value(dim, [t.text for t in span])
            if value is None:
                continue
            found.append(_entity(dim, span.start_char, span.end_char, text, value))
        if "phone-number" in wanted:
            for m in PHONE.finditer(text):
                digits = re.sub(r"\D", "", m.group(0))
                if 7 <= len(digits) <= 15 and not re.fullmatch(r"\d{1,2}[:/]\d{1,2}.*", m.group(0)):
                    found.append(_entity("phone-number", m.start(), m.end(), text,
                                         ("+" if m.group(0).startswith("+") else "") + digits))
        if "order-id" in wanted:
            for m in ORDER_ID.finditer(text):
                found.append(_entity("order-id", m.start(), m.end(), text, m.group(0).upper()))
        return _resolve_overlaps(found)

    def _value(self, dim: str, words: list[str]):
        if dim == "number":
            return parse_number(words)
        if dim == "amount-of-money":
            return parse_money(words)
        if dim == "time":
            return parse_time([w.lower() for w in words], self.now or dt.datetime.now())
        return "".join(words) if dim in ("email", "url") else None

    def to_dict(self) -> dict:
        if self.language != "en":
            return {"dimensions": self.dimensions, "language": self.language}
        return {"dimensions": self.dimensions}


# Longer, more specific dimensions win over the numbers inside them.
PRIORITY = {"email": 0, "url": 1, "amount-of-money": 2, "time": 3, "order-id": 4, "phone-number": 5, "number": 6}


def _resolve_overlaps(found: list[dict]) -> list[dict]:
    ordered = sorted(found, key=lambda e: (PRIORITY[e["entity"]], -(e["end"] - e["start"]), e["start"]))
    kept: list[dict] = []
    for e in ordered:
        if all(e["end"] <= k["start"] or e["start"] >= k["end"] for k in kept):
            kept.append(e)
    return sorted(kept, key=lambda e: e["start"])


def _entity(dim: str, start: int, end: int, text: str, value) -> dict:
    entity = {"entity": dim, "start": start, "end": end, "text": text[start:end], "value": value,
              "confidence_entity": 1.0, "extractor": EXTRACTOR}
    if dim == "amount-of-money":
        entity["value"] = value["value"]
        entity["additional_info"] = value
    if dim == "time":
        entity["value"] = value["value"]
        entity["additional_info"] = value
    return entity


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
        step = {"next": 1, "this": 0, "last": -1}[words[0]]
        if words[1] in ("week", "weekend"):
            monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=step)
            day = monday + dt.timedelta(days=5) if words[1] == "weekend" else monday
            return {"value": day.isoformat(), "grain": "week" if words[1] == "week" else "day"}
        if words[1] == "month":
            month = today.month - 1 + step
            return {"value": dt.date(today.year + month // 12, month % 12 + 1, 1).isoformat(), "grain": "month"}
        return {"value": dt.date(today.year + step, 1, 1).isoformat(), "grain": "year"}
    weekday = _weekday(words[-1])
    if weekday is not None and len(words) <= 2:
        ahead = (weekday - today.weekday()) % 7
        if words[0] == "next":
            ahead = ahead or 7
        elif words[0] == "last":
            ahead = ahead - 7 if ahead else -7
        return _day_value(today + dt.timedelta(days=ahead))
    if words[0] == "in" and len(words) == 3:
        n = parse_number([words[1]])
        if n is None:
            return None
        if words[2].startswith("hour"):
            return {"value": (now + dt.timedelta(hours=n)).replace(second=0, microsecond=0).isoformat(), "grain": "hour"}
        days = n * (7 if words[2].startswith("week") else 1)
        return _day_value(today + dt.timedelta(days=days))
    date = _calendar_date(words, today)
    if date is not None:
        return _day_value(date)
    return _clock(words, today)


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
    if len(words) == 1 and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[0]):
        return _safe_date(*map(int, words[0].split("-")))
    if len(words) == 1 and "/" in words[0]:
        parts = [int(p) for p in words[0].split("/")]
        month, day = parts[0], parts[1]
        if month > 12:  # 25/12: day first
            month, day = day, month
        year = parts[2] if len(parts) == 3 else today.year
        return _safe_date(year + 2000 if year < 100 else year, month, day)
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
    date = _safe_date(year or today.year, month, day)
    if date is not None and year is None and date < today:  # "march 3" in November means next March
        date = _safe_date(today.year + 1, month, day)
    return date


def _clock(words: list[str], today: dt.date) -> dict | None:
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


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
