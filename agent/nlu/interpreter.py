"""Text in, Rasa-format parse data out: payload shortcut, intent ranking, fallback, retrieval keys."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from agent.bot.config import FallbackConfig
from agent.nlu.intent_model import IntentClassifier
from agent.nlu.payload import PayloadError, parse_payload
from agent.nlu.regex_entities import RegexEntityExtractor, map_synonyms

NLU_FALLBACK = "nlu_fallback"
RANKING_LENGTH = 10


@dataclass
class NLUInterpreter:
    classifier: IntentClassifier
    fallback: FallbackConfig
    extractor: RegexEntityExtractor | None = None
    synonyms: dict[str, str] = field(default_factory=dict)

    def parse(self, text: str) -> dict:
        text = text or ""
        if text.startswith("/"):
            try:
                payload = parse_payload(text)
            except PayloadError:
                payload = None
            if payload is not None:
                return payload
        if not text.strip():
            return {"text": text, "intent": {"name": None, "confidence": 0.0}, "intent_ranking": [], "entities": []}
        parsed = self.parse_ranking(text, self.classifier.rank(text))
        if self.extractor is not None:
            parsed["entities"] = map_synonyms(self.extractor.extract(text), self.synonyms)
        return parsed

    def parse_ranking(self, text: str, ranking: list[tuple[str, float]]) -> dict:
        """Group retrieval sub-intents (faq/ask_x) under their parent and apply the fallback rule."""
        parents: dict[str, float] = defaultdict(float)
        selectors: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for label, p in ranking:
            parent = label.split("/")[0]
            parents[parent] += p
            if "/" in label:
                selectors[parent].append((label, p))
        intent_ranking = [{"name": n, "confidence": c}
                          for n, c in sorted(parents.items(), key=lambda kv: -kv[1])][:RANKING_LENGTH]
        top = intent_ranking[0]
        second = intent_ranking[1]["confidence"] if len(intent_ranking) > 1 else 0.0
        intent = dict(top)
        if top["confidence"] < self.fallback.threshold or top["confidence"] - second < self.fallback.ambiguity_threshold:
            intent = {"name": NLU_FALLBACK, "confidence": self.fallback.threshold}
            intent_ranking.insert(0, dict(intent))
        parsed = {"text": text, "intent": intent, "intent_ranking": intent_ranking, "entities": []}
        if selectors:
            parsed["response_selector"] = {
                parent: {
                    "response": {"intent_response_key": ranks[0][0], "confidence": ranks[0][1] / parents[parent],
                                 "utter_action": f"utter_{ranks[0][0]}"},
                    "ranking": [{"intent_response_key": k, "confidence": c / parents[parent]} for k, c in ranks],
                }
                for parent, ranks in selectors.items()
            }
        return parsed
