"""Language codes as bots write them (config.yml `language:`, responses' and FAQ entries' `language:`)."""

from __future__ import annotations


def base(language: str) -> str:
    """zh-CN, zh_TW -> zh."""
    return language.replace("_", "-").split("-")[0].lower()
