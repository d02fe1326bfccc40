"""Read a bot's FAQ: our faq.yml, and Rasa retrieval intents (`faq/ask_x` examples answered by
`utter_faq/ask_x`), which load into the same bank so Rasa bots keep working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.bot.domain import parse_buttons
from agent.bot.faq_entries import ANSWER_KEYS, ID_PATTERN, FAQEntry
from agent.bot.schema import Reader, item_line, key_line
from agent.errors import Errors

FILE_NAMES = ("faq.yml", "faq.yaml")
ENTRY_KEYS = ("id", "questions", "answer", "tags", "language")


def find_faq_file(bot_root: Path) -> Path | None:
    return next((bot_root / n for n in FILE_NAMES if (bot_root / n).is_file()), None)


def parse_faq(data: Any, r: Reader) -> list[FAQEntry]:
    """Entries of a faq.yml; every problem is reported with its line, and a bad entry is left out."""
    top = r.mapping(data, "an FAQ file")
    if top is None:
        return []
    r.check_keys(top, ("version", "faq"), "an FAQ file")
    items = r.sequence(top.get("faq"), "`faq:`", key_line(top, "faq")) if "faq" in top else []
    entries: list[FAQEntry] = []
    seen: dict[str, int | None] = {}
    for i, raw in enumerate(items or []):
        at = item_line(items, i)
        entry = _parse_entry(raw, r, at)
        if entry is None:
            continue
        if entry.id in seen:
            r.error(at, Errors.FAQ_ID_TWICE, id=entry.id, first_line=seen[entry.id])
            continue
        seen[entry.id] = at
        entries.append(entry)
    return entries


def _parse_entry(raw: Any, r: Reader, at: int | None) -> FAQEntry | None:
    data = r.mapping(raw, "an FAQ entry", at)
    if data is None:
        return None
    r.check_keys(data, ENTRY_KEYS, "an FAQ entry")
    ok = True
    entry_id = data.get("id")
    if not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id) or "/" in entry_id:
        r.error(key_line(data, "id", at), Errors.FAQ_BAD_ID)
        ok = False
    questions = r.string_list(data.get("questions"), "`questions:`", key_line(data, "questions", at))
    questions = [q.strip() for q in questions if q.strip()]
    if not questions:
        r.error(key_line(data, "questions", at), Errors.FAQ_WITHOUT_QUESTIONS, id=entry_id)
        ok = False
    answer = _parse_answer(data.get("answer"), r, key_line(data, "answer", at), entry_id)
    ok = ok and answer is not None
    tags = r.string_list(data.get("tags"), "`tags:`", key_line(data, "tags", at))
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        r.error(key_line(data, "language", at), Errors.FAQ_LANGUAGE_FORM)
        ok = False
    return FAQEntry(entry_id, questions, answer, tags, language) if ok else None


def _parse_answer(value: Any, r: Reader, at: int | None, entry_id: Any) -> dict | None:
    if isinstance(value, str) and value.strip():
        return {"text": value.strip()}
    answer = r.mapping(value, f"the answer of FAQ entry '{entry_id}'", at) if value is not None else None
    if answer is None or not isinstance(answer.get("text"), str) or not answer["text"].strip():
        if answer is not None or value is None:
            r.error(at, Errors.FAQ_WITHOUT_ANSWER, id=entry_id)
        return None
    r.check_keys(answer, ANSWER_KEYS, "an FAQ answer")
    out: dict = {"text": answer["text"].strip()}
    buttons = [
        {"title": b.title, "payload": b.payload}
        for b in parse_buttons(answer.get("buttons"), f"FAQ {entry_id}", r, key_line(answer, "buttons", at))
    ]
    if buttons:
        out["buttons"] = buttons
    for key in ("image", "links"):
        if key in answer:
            out[key] = answer[key]
    return out


def retrieval_entries(examples, responses: dict) -> list[FAQEntry]:
    """One entry per Rasa retrieval intent (`faq/ask_x`): its examples are the questions and its
    answer is the domain response `utter_faq/ask_x`, so response variations and conditions still apply."""
    grouped: dict[str, list[str]] = {}
    for e in examples:
        if "/" in e.intent:
            grouped.setdefault(e.intent, []).append(e.text)
    out = []
    for key, questions in grouped.items():
        response = f"utter_{key}"
        variations = responses.get(response) or []
        text = next((v.text for v in variations if v.text), None)
        out.append(FAQEntry(key, questions, {"text": text or ""}, response=response))
    return out
