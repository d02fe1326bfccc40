"""NLU training data: intent examples with entity annotations, synonyms, regexes and lookup tables."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent.bot.schema import Reader, item_line, key_line
from agent.bot.yaml_source import LineStr, line_of, plain
from agent.errors import Errors

# Rasa's entity annotation grammar (rasa/shared/nlu/training_data/entities_parser.py).
ANNOTATION = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)|\{(?P<entity_dict>[^}]+?)\})"
)
ENTITY_DICT_KEYS = ("entity", "value", "role", "group")


@dataclass
class EntityAnnotation:
    start: int
    end: int
    text: str
    entity: str
    value: Any
    role: str | None = None
    group: str | None = None

    def as_dict(self) -> dict:
        out = {"start": self.start, "end": self.end, "value": self.value, "entity": self.entity}
        if self.role:
            out["role"] = self.role
        if self.group:
            out["group"] = self.group
        return out


@dataclass
class Example:
    text: str
    intent: str  # the full name, e.g. "faq/ask_channels" for retrieval intents
    entities: list[EntityAnnotation] = field(default_factory=list)
    metadata: Any = None
    file: str = ""
    line: int | None = None

    @property
    def parent_intent(self) -> str:
        return self.intent.split("/")[0]


@dataclass
class RegexFeature:
    name: str
    pattern: str


@dataclass
class NLUData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, str] = field(default_factory=dict)  # lower-cased variant -> canonical value
    regexes: list[RegexFeature] = field(default_factory=list)
    lookups: dict[str, list[str]] = field(default_factory=dict)

    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    def extend(self, other: NLUData) -> None:
        self.examples += other.examples
        self.synonyms.update(other.synonyms)
        self.regexes += other.regexes
        for name, values in other.lookups.items():
            self.lookups.setdefault(name, []).extend(values)


def parse_annotated(text: str, r: Reader | None = None, line: int | None = None) -> tuple[str, list[EntityAnnotation]]:
    """Turn `show me [red](colour) shoes` into plain text plus character-offset entities."""
    plain_text, entities, cursor = [], [], 0
    offset = 0
    for m in ANNOTATION.finditer(text):
        plain_text.append(text[cursor : m.start()])
        offset += m.start() - cursor
        surface = m.group("entity_text")
        start, end = offset, offset + len(surface)
        if m.group("entity_dict"):
            ann = _entity_from_dict(m.group("entity_dict"), surface, start, end, r, line)
        else:
            value = m.group("value")
            ann = EntityAnnotation(
                start, end, surface, m.group("entity").strip(), value if value is not None else surface
            )
        if ann is not None:
            entities.append(ann)
        plain_text.append(surface)
        offset = end
        cursor = m.end()
    plain_text.append(text[cursor:])
    return "".join(plain_text), entities


def _entity_from_dict(
    body: str, surface: str, start: int, end: int, r: Reader | None, line: int | None
) -> EntityAnnotation | None:
    try:
        data = json.loads("{" + body + "}")
    except json.JSONDecodeError as exc:
        if r:
            r.error(line, Errors.ANNOTATION_NOT_JSON, body=body, reason=exc.msg)
        return None
    unknown = [k for k in data if k not in ENTITY_DICT_KEYS]
    if r and unknown:
        r.error(
            line,
            Errors.UNKNOWN_KEY,
            key=unknown[0],
            what="entity annotation",
            suggestion=f"allowed keys: {', '.join(ENTITY_DICT_KEYS)}",
        )
    if "entity" not in data:
        if r:
            r.error(line, Errors.ANNOTATION_WITHOUT_ENTITY, surface=surface, body=body)
        return None
    return EntityAnnotation(
        start,
        end,
        surface,
        str(data["entity"]),
        data.get("value", surface),
        _s(data.get("role")),
        _s(data.get("group")),
    )


def _s(v: Any) -> str | None:
    return None if v is None else str(v)


def parse_nlu(value: Any, r: Reader, line: int | None) -> NLUData:
    data = NLUData()
    items = r.sequence(value, "nlu", line)
    for i, item in enumerate(items or []):
        at = item_line(items, i, line)
        item = r.mapping(item, "an nlu item", at)
        if item is None:
            continue
        kinds = [k for k in ("intent", "synonym", "regex", "lookup") if k in item]
        if len(kinds) != 1:
            r.error(at, Errors.NLU_ITEM_KIND, kinds=", ".join(kinds) if kinds else "none of them")
            continue
        kind = kinds[0]
        allowed = ("intent", "examples", "metadata") if kind == "intent" else (kind, "examples")
        r.check_keys(item, allowed, f"the nlu {kind} item")
        name = item[kind]
        if not isinstance(name, (str, int)) or isinstance(name, bool) or str(name).strip() == "":
            r.error(key_line(item, kind, at), Errors.NLU_NAME_NOT_TEXT, kind=kind)
            continue
        name = str(name).strip()
        if "examples" not in item:
            r.error(at, Errors.NLU_ITEM_WITHOUT_EXAMPLES, kind=kind, name=name)
            continue
        lines = _example_lines(item["examples"], r, key_line(item, "examples", at))
        if kind == "intent":
            for text, metadata, ex_line in lines:
                clean, entities = parse_annotated(text, r, ex_line)
                data.examples.append(Example(clean, name, entities, metadata, r.file, ex_line))
        elif kind == "synonym":
            for text, _, _ in lines:
                data.synonyms[text.lower()] = name
        elif kind == "regex":
            for text, _, ex_line in lines:
                try:
                    re.compile(text)
                except re.error as exc:
                    r.error(ex_line, Errors.INVALID_REGEX, name=name, pattern=text, reason=exc)
                    continue
                data.regexes.append(RegexFeature(name, text))
        else:
            data.lookups.setdefault(name, []).extend(t for t, _, _ in lines)
    return data


def _example_lines(value: Any, r: Reader, line: int | None) -> list[tuple[str, Any, int | None]]:
    """Examples come as a block of `- ` lines or as a list of {text, metadata} maps."""
    out: list[tuple[str, Any, int | None]] = []
    if isinstance(value, str):
        base = line_of(value, line)
        literal = isinstance(value, LineStr) and value.style == "|"
        for n, raw in enumerate(value.splitlines()):
            stripped = raw.strip()
            if not stripped:
                continue
            ex_line = base + n if (base and literal) else base
            if not stripped.startswith("-"):
                r.error(ex_line, Errors.EXAMPLE_WITHOUT_DASH, text=stripped)
                continue
            text = stripped[1:].strip()
            if text:
                out.append((text, None, ex_line))
        return out
    if isinstance(value, list):
        for i, item in enumerate(value):
            at = item_line(value, i, line)
            if isinstance(item, dict):
                r.check_keys(item, ("text", "metadata"), "an example")
                if "text" not in item:
                    r.error(at, Errors.EXAMPLE_WITHOUT_TEXT)
                    continue
                out.append((str(item["text"]), plain(item.get("metadata")), at))
            elif isinstance(item, str):
                out.append((str(item), None, at))
            else:
                r.error(at, Errors.EXAMPLE_FORM)
        return out
    r.error(line_of(value, line), Errors.EXAMPLES_FORM)
    return out
