"""Rasa's RegexEntityExtractor and EntitySynonymMapper: regexes and lookup tables named after an
entity extract it; synonyms map extracted values to their canonical form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.bot.nlu_data import NLUData

# A letter or digit of a space-separated script: lookup values must not start or end inside such a
# word. Chinese and Japanese characters are no such boundary (Python's \w counts them as letters, so
# 黑色 would never match inside 有黑色的吗).
WORD = r"[^\W\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


@dataclass
class RegexEntityExtractor:
    patterns: dict[str, list[str]] = field(default_factory=dict)  # entity -> regexes

    @classmethod
    def from_data(
        cls,
        data: NLUData,
        entities: set[str],
        use_regexes: bool = True,
        use_lookup_tables: bool = True,
        case_sensitive: bool = False,
    ) -> RegexEntityExtractor:
        patterns: dict[str, list[str]] = {}
        if use_regexes:
            for feature in data.regexes:
                if feature.name in entities:
                    patterns.setdefault(feature.name, []).append(feature.pattern)
        if use_lookup_tables:
            for name, values in data.lookups.items():
                if name in entities and values:
                    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
                    patterns.setdefault(name, []).append(rf"(?<!{WORD})(?:{alternatives})(?!{WORD})")
        flags = "" if case_sensitive else "(?i)"
        return cls({name: [flags + p for p in ps] for name, ps in patterns.items()})

    def extract(self, text: str) -> list[dict]:
        found = []
        for entity, patterns in self.patterns.items():
            for pattern in patterns:
                for m in re.finditer(pattern, text):
                    if m.end() > m.start():
                        found.append(
                            {
                                "entity": entity,
                                "start": m.start(),
                                "end": m.end(),
                                "value": m.group(0),
                                "extractor": "RegexEntityExtractor",
                            }
                        )
        found.sort(key=lambda e: (e["start"], -(e["end"] - e["start"])))
        kept, last_end = [], -1
        for e in found:  # overlapping matches: keep the earliest, longest
            if e["start"] >= last_end:
                kept.append(e)
                last_end = e["end"]
        return kept

    def to_dict(self) -> dict:
        return {"patterns": self.patterns}

    @classmethod
    def from_dict(cls, data: dict) -> RegexEntityExtractor:
        return cls(data.get("patterns", {}))


def map_synonyms(entities: list[dict], synonyms: dict[str, str]) -> list[dict]:
    for e in entities:
        value = e.get("value")
        if isinstance(value, str) and value.lower() in synonyms:
            e["value"] = synonyms[value.lower()]
            e.setdefault("processors", []).append("EntitySynonymMapper")
    return entities
