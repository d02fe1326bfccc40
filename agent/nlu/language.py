"""Which of a bot's languages a message is in, from the scripts its characters belong to.

Chinese customers mix English product names and order numbers into Chinese sentences ("我想买iPhone",
"ORD-123456到哪了"), and English speakers rarely type Chinese, so each Chinese character counts as
much as a whole Latin word. Languages written in the same script (English and German) cannot be told
apart this way: the bot's first such language is taken."""

from __future__ import annotations

import re

from agent.bot.language_codes import base

SCRIPT = {
    "zh": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "ja": re.compile(r"[\u3040-\u30ff]"),
    "ko": re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "uk": re.compile(r"[\u0400-\u04ff]"),
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "he": re.compile(r"[\u0590-\u05ff]"),
    "el": re.compile(r"[\u0370-\u03ff]"),
    "th": re.compile(r"[\u0e00-\u0e7f]"),
    "hi": re.compile(r"[\u0900-\u097f]"),
}
LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")


def detect(text: str, languages: list[str], previous: str | None = None) -> str:
    """The bot language `text` is most likely in. A message too short to tell ("ok", an order
    number) stays in the conversation's previous language, else the bot's first."""
    if len(languages) <= 1:
        return languages[0] if languages else "en"
    scores: dict[str, float] = {}
    latin_words = len(LATIN_WORD.findall(text))
    if latin_words < 2 and not any(SCRIPT.get(base(lang)) and SCRIPT[base(lang)].search(text) for lang in languages):
        return previous if previous in languages else languages[0]
    for language in languages:
        script = SCRIPT.get(base(language))
        # on a tie the language with its own script wins: its characters are the rarer signal
        scores[language] = len(script.findall(text)) + 0.5 if script is not None else latin_words
    best = max(languages, key=lambda lang: (scores[lang] if scores[lang] >= 1 else 0, -languages.index(lang)))
    return best
