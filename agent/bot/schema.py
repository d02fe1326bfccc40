"""Small helpers shared by the bot-file parsers: key checks and typed reads that report file:line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from agent.bot.yaml_source import LineDict, LineList, line_of
from agent.errors import Entry, Errors, Problems


class Reader:
    """Wraps one file's Problems so parsers can say `r.error(node, ...)` and keep going."""

    def __init__(self, file: str, problems: Problems):
        self.file = file
        self.problems = problems

    def error(self, line: int | None, entry: Entry, /, **fields) -> None:
        """Report the catalogue error `entry` (an `Errors.X`) at `line` of this file."""
        self.problems.error(self.file, line, entry, **fields)

    def warning(self, line: int | None, entry: Entry, /, **fields) -> None:
        """Report the catalogue warning `entry` (a `Warnings.X`) at `line` of this file."""
        self.problems.warning(self.file, line, entry, **fields)

    def check_keys(self, mapping: dict, allowed: Iterable[str], what: str) -> None:
        for key, line, suggestion in self.unknown_keys(mapping, allowed):
            self.error(line, Errors.UNKNOWN_KEY, key=key, what=what, suggestion=suggestion)

    @staticmethod
    def unknown_keys(mapping: dict, allowed: Iterable[str]) -> list[tuple[Any, int | None, str]]:
        """(key, line, "did you mean") for each key of `mapping` not in `allowed`."""
        allowed = list(allowed)
        return [
            (key, mapping.line_of(key) if isinstance(mapping, LineDict) else None, _suggest(str(key), allowed))
            for key in mapping
            if key not in allowed
        ]

    def mapping(self, value: Any, what: str, line: int | None = None) -> dict | None:
        if isinstance(value, dict):
            return value
        self.error(line_of(value, line), Errors.NOT_A_MAPPING, what=what, kind=_kind(value))
        return None

    def sequence(self, value: Any, what: str, line: int | None = None) -> list | None:
        if isinstance(value, list):
            return value
        self.error(line_of(value, line), Errors.NOT_A_LIST, what=what, kind=_kind(value))
        return None

    def string_list(self, value: Any, what: str, line: int | None = None) -> list[str]:
        """A list of names; a single string is accepted as a one-item list (Rasa does the same)."""
        if value is None:
            return []
        if isinstance(value, str):
            return [str(value)]
        if isinstance(value, list):
            out = []
            for i, item in enumerate(value):
                if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                    out.append(str(item))
                else:
                    self.error(_item_line(value, i, line), Errors.NOT_A_LIST_OF_NAMES, what=what, kind=_kind(item))
            return out
        self.error(line_of(value, line), Errors.NOT_A_LIST_OF_NAMES, what=what, kind=_kind(value))
        return []


def _item_line(seq: list, index: int, default: int | None) -> int | None:
    return seq.line_of(index) if isinstance(seq, LineList) else default


def item_line(seq: Any, index: int, default: int | None = None) -> int | None:
    return _item_line(seq, index, default) if isinstance(seq, list) else default


def key_line(mapping: Any, key: Any, default: int | None = None) -> int | None:
    if isinstance(mapping, LineDict):
        return mapping.line_of(key)
    return default


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    return f"the text '{value}'"


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"did you mean '{close[0]}'? Allowed keys: {', '.join(allowed)}"
    return f"allowed keys: {', '.join(allowed)}"


def suggest_name(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean '{close[0]}'?" if close else ""
