"""Environment variables in credentials.yml and endpoints.yml, as Rasa 3.x reads them: a string value
may be `${SLACK_TOKEN}` or hold one (`redis://${REDIS_HOST}:6379`), replaced by the variable's value.

Also the shell form `${NAME:-default}` (the default when NAME is unset or empty), and `$${NAME}` for a
literal `${NAME}`. An unset variable without a default, or a `${...}` that is not one of these forms,
is a problem at the value's file:line. Only string values are expanded (keys are not), and the result
stays a string, line information kept."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from agent.bot.yaml_source import LineDict, LineList, LineStr
from agent.errors import Errors, Problem

# `$${` (escape), or `${` up to the next `}` (which may be missing: malformed)
_REFERENCE = re.compile(r"\$(\$)?\{([^}]*)(\}?)")
_BODY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.DOTALL)


def expand_env_vars(
    value: Any, file: str, environ: Mapping[str, str] | None = None, *, key: str = ""
) -> tuple[Any, list[Problem]]:
    """`value` (a parsed YAML tree) with `${NAME}` references in its strings replaced from `environ`
    (os.environ by default), and the problems found, each at file:line and naming the dotted key path
    (below `key`, the path of `value` itself). The tree is not changed."""
    problems: list[Problem] = []
    out = _expand(value, file, os.environ if environ is None else environ, problems, key, None)
    return out, problems


def _expand(
    value: Any, file: str, environ: Mapping[str, str], problems: list[Problem], key: str, line: int | None
) -> Any:
    if isinstance(value, dict):
        out = LineDict()
        out.line = getattr(value, "line", None)
        for k, v in value.items():
            k_line = value.line_of(k) if isinstance(value, LineDict) else line
            out[k] = _expand(v, file, environ, problems, f"{key}.{k}" if key else str(k), k_line)
            if isinstance(value, LineDict) and k in value.key_lines:
                out.key_lines[k] = value.key_lines[k]
        return out
    if isinstance(value, list):
        out_list = LineList()
        out_list.line = getattr(value, "line", None)
        out_list.item_lines = list(getattr(value, "item_lines", []))
        for i, v in enumerate(value):
            i_line = value.line_of(i) if isinstance(value, LineList) else line
            out_list.append(_expand(v, file, environ, problems, f"{key}[{i}]", i_line))
        return out_list
    if isinstance(value, str) and "${" in value:
        return _expand_text(value, file, environ, problems, key, getattr(value, "line", None) or line)
    return value


def _expand_text(
    text: str, file: str, environ: Mapping[str, str], problems: list[Problem], key: str, line: int | None
) -> str:
    def where(match: re.Match) -> int | None:
        # a block scalar (`|`) keeps its lines, so the reference's own line is known
        if line is not None and getattr(text, "style", None) == "|":
            return line + text.count("\n", 0, match.start())
        return line

    def replace(match: re.Match) -> str:
        escaped, body, closed = match.groups()
        if escaped:
            return "${" + body + closed
        parts = _BODY.fullmatch(body) if closed else None
        if parts is None or "${" in (parts.group(2) or ""):
            problems.append(Errors.ENV_VAR_MALFORMED.problem(file, where(match), text=match.group(0), key=key))
            return match.group(0)
        name, default = parts.groups()
        found = environ.get(name)
        if default is not None:
            return found if found else default
        if found is None:
            problems.append(Errors.ENV_VAR_UNSET.problem(file, where(match), name=name, key=key))
            return match.group(0)
        return found

    out = LineStr(_REFERENCE.sub(replace, text))
    out.line, out.style = getattr(text, "line", None), getattr(text, "style", None)
    return out
