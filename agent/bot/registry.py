"""The component registry: every pipeline component and policy a config.yml may name, with the
settings it takes (a dataclass: names, types, defaults), as spaCy's `@Language.factory` declares
its factories.

A config.yml key is one of three things: a setting the component declares (read with its type), a
key Rasa's own component takes that we accept but do not use (listed once, with why), or a typo,
which is an error naming the file, the line and the closest key.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Union

from agent.bot.schema import Reader, key_line
from agent.errors import Errors, Warnings

PIPELINE = "pipeline component"
POLICY = "policy"


@dataclass
class Context:
    """What a component's `apply` may need besides its settings."""

    reader: Reader
    line: int | None
    name: str  # as written in config.yml (maybe a dotted path)
    bot_dir: Any = None
    raw: dict = field(default_factory=dict)  # the component's mapping in config.yml

    def line_of(self, key: str) -> int | None:
        return key_line(self.raw, key, self.line)


@dataclass(frozen=True)
class Registered:
    name: str
    kind: str  # PIPELINE | POLICY
    settings: type  # a dataclass
    apply: Callable[[Any, Any, Context], None]  # (settings, AgentConfig, context)
    rasa_keys: frozenset[str] = frozenset()  # Rasa's keys for it that we accept and do not use
    why_unused: str = ""
    strict: bool = True  # an unknown key is an error; False for Rasa's components (see `read_settings`)

    def declared(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self.settings)]


@dataclass
class Registry:
    entries: dict[tuple[str, str], Registered] = field(default_factory=dict)

    def register(
        self,
        name: str,
        kind: str,
        settings: type,
        *,
        rasa_keys: frozenset[str] = frozenset(),
        why_unused: str = "",
        strict: bool = True,
        aliases: tuple[str, ...] = (),
    ):
        """Decorator for a component's `apply(settings, config, context)`."""

        def decorate(apply):
            for n in (name, *aliases):
                self.entries[(kind, n)] = Registered(n, kind, settings, apply, rasa_keys, why_unused, strict)
            return apply

        return decorate

    def get(self, kind: str, name: str) -> Registered | None:
        return self.entries.get((kind, name.rsplit(".", 1)[-1]))

    def names(self, kind: str) -> list[str]:
        return sorted(n for k, n in self.entries if k == kind)


REGISTRY = Registry()
NOT_SETTINGS = ("name",)


def read_settings(spec: Registered, raw: dict, ctx: Context) -> tuple[Any, list[str]]:
    """The component's settings from its config.yml mapping, and the accepted keys it does not use.

    An unknown key is an error with "did you mean". For Rasa's own components (not `strict`) a key
    with no close match is only a warning: Rasa versions add keys, and a project that trains in
    Rasa must train here."""
    r, line = ctx.reader, ctx.line
    declared = spec.declared()
    hints = typing.get_type_hints(spec.settings)
    values: dict[str, Any] = {}
    unused: list[str] = []  # "key: value" as written
    for key, value in raw.items():
        key = str(key)
        at = key_line(raw, key, line)
        if key in NOT_SETTINGS:
            continue
        if key in declared:
            ok, converted = _convert(value, hints[key])
            if ok:
                values[key] = converted
            else:
                r.error(
                    at,
                    Errors.SETTING_WRONG_TYPE,
                    component=spec.name,
                    key=key,
                    expected=_describe(hints[key]),
                    value=value,
                )
        elif key in spec.rasa_keys:
            unused.append(f"{key}: {value}")
        else:
            close = difflib.get_close_matches(key, [*declared, *spec.rasa_keys], n=1)
            if close or spec.strict:
                hint = f"did you mean '{close[0]}'?" if close else f"{spec.name} takes: {', '.join(declared)}"
                r.error(at, Errors.UNKNOWN_SETTING, key=key, kind=spec.kind, component=spec.name, suggestion=hint)
            else:
                r.warning(
                    at,
                    Warnings.UNKNOWN_RASA_SETTING,
                    component=spec.name,
                    key=key,
                    declared=", ".join(declared) or "none",
                )
    return spec.settings(**values), unused


def _convert(value: Any, hint: Any) -> tuple[bool, Any]:
    """Check and convert a YAML value to the declared type (int from 3.0 is fine, bool is not a number)."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    if value is None:
        return type(None) in options, None
    for option in options:
        origin = typing.get_origin(option) or option
        if origin is bool and isinstance(value, bool):
            return True, value
        if isinstance(value, bool):
            continue
        if origin is int and isinstance(value, (int, float)) and float(value).is_integer():
            return True, int(value)
        if origin is float and isinstance(value, (int, float)) and value == value and abs(value) != float("inf"):
            return True, float(value)
        if origin is str and isinstance(value, (str, int, float)):
            return True, str(value)
        if origin is list and isinstance(value, list):
            return True, list(value)
        if origin is list and isinstance(value, str):
            return True, [value]
    return False, None


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (Union, types.UnionType)


def _describe(hint: Any) -> str:
    options = [o for o in (typing.get_args(hint) if _is_union(hint) else (hint,)) if o is not type(None)]
    names = {int: "a whole number", float: "a number", bool: "true or false", str: "a string", list: "a list"}
    return " or ".join(names.get(typing.get_origin(o) or o, str(o)) for o in options)
