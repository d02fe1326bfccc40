"""User-facing problems: every one names a file, a line and what to do about it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str
    hint: str = ""
    column: int | None = None
    severity: str = "error"  # "error" | "warning"
    excerpt: str = ""  # the offending source line, when we have it

    def location(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        text = f"{self.location()}: {self.severity}: {self.message}"
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

    def error(self, file: str, line: int | None, message: str, hint: str = "", **kw) -> None:
        self.items.append(Problem(str(file), line, message, hint, **kw))

    def warning(self, file: str, line: int | None, message: str, hint: str = "", **kw) -> None:
        self.items.append(Problem(str(file), line, message, hint, severity="warning", **kw))

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
    """An error caused by the user's input or setup; the CLI prints it without a traceback."""


class BotFileError(AgentError):
    def __init__(self, problems: Problems | Problem):
        if isinstance(problems, Problem):
            problems = Problems([problems])
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems.errors))
