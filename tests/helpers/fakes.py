"""Stand-ins for the NLU in dialogue tests."""

from __future__ import annotations

from collections.abc import Callable

from agent.core.processor import Parser
from agent.nlu.language import detect


def as_parser(parse: Callable[[str], dict], languages: list[str] | None = None) -> Parser:
    """A scripted parse as the processor calls the NLU (async, told the conversation's language so
    far); given a multilingual bot's languages it tags each message's language as the NLU does."""

    async def parser(text: str, previous_language: str | None = None) -> dict:
        parsed = dict(parse(text))
        if languages and len(languages) > 1:
            parsed["language"] = detect(text, languages, previous_language)
        return parsed

    return parser
