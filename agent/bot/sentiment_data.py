"""A bot's own sentiment examples: a `sentiment:` section in any training data file, read like NLU
examples. With them `agent train` fits the SentimentAnalyzer's head on the bot's own words instead of
shipping the general one (agent.nlu.sentiment.training).

    sentiment:
      - label: negative
        examples: |
          - 快递太慢了，等了一个星期
      - label: positive
        examples: |
          - 物流很快，包装也好
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from agent.bot.nlu_data import _example_lines
from agent.bot.schema import Reader, item_line, key_line
from agent.errors import Errors

LABELS = ("negative", "neutral", "positive")
MIN_PER_LABEL = 10  # fewer would fit a worse head than the shipped one


@dataclass(frozen=True)
class SentimentExample:
    text: str
    label: str


def parse_sentiment(value: Any, r: Reader, line: int | None) -> list[SentimentExample]:
    out: list[SentimentExample] = []
    for i, item in enumerate(r.sequence(value, "sentiment", line) or []):
        at = item_line(value, i, line)
        block = r.mapping(item, "a sentiment label's examples", at)
        if block is None:
            continue
        r.check_keys(block, ("label", "examples"), "a sentiment label's examples")
        label = block.get("label")
        if label not in LABELS:
            r.error(key_line(block, "label", at) or at, Errors.SENTIMENT_LABEL, label=label, labels=", ".join(LABELS))
            continue
        for text, _, _ in _example_lines(block.get("examples", ""), r, key_line(block, "examples", at)):
            out.append(SentimentExample(text, str(label)))
    return out


def too_few(labels: list[str]) -> str | None:
    """What is missing for a head of the bot's own (None: enough): MIN_PER_LABEL of each of two labels,
    one of them negative."""
    counts = Counter(labels)
    enough = [label for label, n in counts.items() if n >= MIN_PER_LABEL]
    if "negative" in enough and len(enough) >= 2:
        return None
    return ", ".join(f"{label} {n}" for label, n in sorted(counts.items())) or "none"
