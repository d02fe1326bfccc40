"""User-facing problems: every one names a file, a line, a code from the catalogue
(agent/errors/catalogue.py, documented in docs/errors.md) and what to do about it.

The bottom layer: imports nothing else from `agent`."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.errors.catalogue import Entry, Errors, Warnings

__all__ = ["AgentError", "BotFileError", "Entry", "Errors", "Problem", "Problems", "Warnings"]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    hint: str = ""
    column: int | None = None
    severity: str = "error"  # "error" | "warning"
    excerpt: str = ""  # the offending source line, when we have it
    code: str = ""  # the catalogue code, e.g. "E104"
    fails_validation: bool = False  # a warning for `agent train`, a failure for `agent data validate`

    def location(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        text = f"{self.location()}: {self.severity}{' ' + self.code if self.code else ''}: {self.message}"
        if self.excerpt:
            text += f"\n    {self.excerpt}"
            if self.column:
                text += "\n    " + " " * (self.column - 1) + "^"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


@dataclass
class Problems:
    """Collects every problem in a bot instead of stopping at the first one."""

    items: list[Problem] = field(default_factory=list)

    def error(self, file: str, line: int | None, entry: Entry, /, **fields) -> None:
        """Add the error `entry` (an `Errors.X`) at file:line, its templates filled with `fields`."""
        assert entry.severity == "error", f"{entry.code} is not an error"
        self.items.append(entry.problem(file, line, **fields))

    def warning(self, file: str, line: int | None, entry: Entry, /, **fields) -> None:
        """Add the warning `entry` (a `Warnings.X`) at file:line, its templates filled with `fields`."""
        assert entry.severity == "warning", f"{entry.code} is not a warning"
        self.items.append(entry.problem(file, line, **fields))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise BotFileError(self)


class AgentError(Exception):
    """An error caused by the user's input or setup; the CLI prints it, with its code, without a
    traceback. Raise one from the catalogue: `raise Errors.MODEL_NOT_FOUND.error(path=...)` (or
    `AgentError(Errors.MODEL_NOT_FOUND, path=...)`); `where` names the file (and line) it is about."""

    def __init__(self, entry: Entry, /, *, where: str = "", **fields):
        if not isinstance(entry, Entry):
            raise TypeError("AgentError takes a catalogue entry (agent.errors.Errors.X), not a message")
        self.entry, self.where, self.fields = entry, where, fields
        self.code = entry.code
        self.message, self.hint = entry.format(**fields)
        text = f"{where}: {self.message}" if where else self.message
        super().__init__(text + (f"\n    hint: {self.hint}" if self.hint else ""))

    def at(self, where: str) -> AgentError:
        """The same error, said of `where` (a file, or file:line) in front of what it names already."""
        return AgentError(self.entry, where=f"{where}: {self.where}" if self.where else where, **self.fields)


class BotFileError(AgentError):
    def __init__(self, problems: Problems | Problem):
        if isinstance(problems, Problem):
            problems = Problems([problems])
        self.problems = problems
        self.entry, self.where, self.fields, self.hint = None, "", {}, ""
        self.code = problems.errors[0].code if problems.errors else ""
        self.message = "\n".join(str(p) for p in problems.errors)
        Exception.__init__(self, self.message)

    def at(self, where: str) -> BotFileError:
        return self  # every problem names its file already
