"""YAML reading that remembers where every value came from, so errors can name file:line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from agent.errors import BotFileError, Errors


class LineDict(dict):
    """A mapping that knows its own line and the line of each key."""

    line: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int | None:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that knows its own line and the line of each item."""

    line: int | None = None

    def __init__(self, *args):
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int | None:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


class LineStr(str):
    """A string scalar with its line and style (block scalars start one line below the '|')."""

    line: int | None = None
    style: str | None = None


def line_of(value: Any, default: int | None = None) -> int | None:
    return getattr(value, "line", None) or default


# Values one document may stand for once its aliases are expanded: far above any real bot file, far
# below what an alias bomb (`b: [*a, *a, ...]`, nested) makes the parsers copy and walk.
MAX_EXPANDED_VALUES = 1_000_000
# Nesting of lists and mappings: bot files nest a handful of levels; thousands exhaust Python's stack.
MAX_DEPTH = 100


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (Rasa reads `yes`/`no` as strings), line tracking and caps on
    nesting depth and alias expansion."""

    def compose_document(self):
        self._sizes: dict[int, int] = {}  # id(node) -> values it stands for, aliases expanded
        self._depth = 0
        return super().compose_document()

    def compose_node(self, parent, index):
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"lists and mappings nest deeper than {MAX_DEPTH} levels", self.peek_event().start_mark
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if id(node) not in self._sizes:  # an alias returns its anchor's node, already counted
            children = (
                node.value
                if isinstance(node, yaml.SequenceNode)
                else [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode)
                else []
            )
            size = 1 + sum(self._sizes.get(id(child), 1) for child in children)
            if size > MAX_EXPANDED_VALUES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases expand this document to more than {MAX_EXPANDED_VALUES:,} values",
                    node.start_mark,
                )
            self._sizes[id(node)] = size
        return node


# Rasa reads YAML 1.2 (ruamel): yes/no/on/off stay strings, 12:30 is not the number 750, 010 is ten.
_YAML11_ONLY = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_ONLY]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class DuplicateKey(Exception):
    def __init__(self, key: Any, line: int, first_line: int):
        self.key, self.line, self.first_line = key, line, first_line


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> LineDict:
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, LineStr):
            key = str(key)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found a list or mapping used as a key",
                key_node.start_mark,
            ) from None
        key_line = key_node.start_mark.line + 1
        if key in mapping:
            raise DuplicateKey(key, key_line, mapping.key_lines[key])
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_line
    return mapping


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode, deep: bool = False) -> LineList:
    seq = LineList(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [child.start_mark.line + 1 for child in node.value]
    return seq


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> LineStr:
    value = LineStr(loader.construct_scalar(node))
    value.style = node.style
    value.line = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
    return value


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    try:
        return int(text, 10)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise yaml.constructor.ConstructorError(
            None, None, f"the number has too many digits ({len(text)})", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)


def parse_yaml(text: str, file: str | Path) -> Any:
    """Parse YAML text; a syntax error becomes a BotFileError with file:line:column and the line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except DuplicateKey as dup:
        raise BotFileError(
            Errors.DUPLICATE_KEY.problem(file, dup.line, key=dup.key, first_line=dup.first_line)
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        lines = text.splitlines()
        excerpt = lines[line - 1] if line and line <= len(lines) else ""
        problem = f"{exc.problem or exc.context}"
        if exc.context and exc.problem:
            problem += f" ({exc.context})"
        raise BotFileError(
            Errors.YAML_SYNTAX.problem(file, line, column=column, excerpt=excerpt, problem=problem)
        ) from None
    except yaml.YAMLError as exc:
        raise BotFileError(Errors.YAML_ERROR.problem(file, None, reason=exc)) from None


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BotFileError(Errors.NOT_UTF8.problem(path, None, reason=exc.reason, start=exc.start)) from None
    return parse_yaml(text, path)


def plain(value: Any) -> Any:
    """Strip line information: plain dicts, lists and strs (for JSON and comparisons)."""
    if isinstance(value, dict):
        return {str(k) if isinstance(k, LineStr) else k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, LineStr):
        return str(value)
    return value
