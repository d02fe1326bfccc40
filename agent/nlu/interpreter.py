"""Text in, Rasa-format parse data out: payload shortcut, intent ranking, fallback, retrieval keys,
and entities from the trained tagger, regexes/lookups and built-in extractors."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from agent.bot.config import AgentConfig, FallbackConfig
from agent.nlu.intent_model import IntentClassifier, ranking
from agent.nlu.language import detect
from agent.nlu.payload import PayloadError, parse_payload
from agent.nlu.regex_entities import RegexEntityExtractor, map_synonyms

NLU_FALLBACK = "nlu_fallback"
ENTITY_SETTINGS_FILE = "entities.json"  # the rule-based extractors' settings, beside the classifier
RANKING_LENGTH = 10


@dataclass
class NLUInterpreter:
    classifier: IntentClassifier
    fallback: FallbackConfig
    extractor: RegexEntityExtractor | None = None
    synonyms: dict[str, str] = field(default_factory=dict)
    builtin: dict | None = None  # language -> BuiltinEntityExtractor
    use_neighbours: bool = False  # the threshold applies to confidence x neighbour similarity
    faq: object | None = None  # FAQRouter: answers questions no intent covers
    languages: list[str] = field(default_factory=list)  # a multilingual bot's (FAQ entries, built-in entities)
    sentiment: object | None = None  # SentimentAnalyzer: "sentiment" in every parse of a typed message
    _faq_executor: object | None = field(default=None, init=False, repr=False)

    @classmethod
    def build(cls, classifier: IntentClassifier, config: AgentConfig, entities: dict) -> NLUInterpreter:
        """Wire a trained classifier with the entity settings saved beside it (nlu/entities.json)."""
        from agent.nlu.builtin_entities import BuiltinEntityExtractor

        regex = RegexEntityExtractor.from_dict(entities["regex"]) if entities.get("regex") else None
        languages = config.languages or [config.language]
        builtin = None
        if entities.get("builtin"):
            builtin = {lang: BuiltinEntityExtractor(entities["builtin"], language=lang) for lang in languages}
        from agent.nlu.thresholds import CONFIDENCE_X_NEIGHBOURS

        swept = classifier.thresholds
        use_neighbours = (
            not config.fallback.from_config
            and swept is not None
            and swept.signal == CONFIDENCE_X_NEIGHBOURS
            and classifier.neighbours is not None
        )
        return cls(
            classifier,
            effective_fallback(config.fallback, swept),
            regex,
            entities.get("synonyms", {}),
            builtin,
            use_neighbours,
            languages=languages,
        )

    def parse(self, text: str, previous_language: str | None = None) -> dict:
        """`previous_language`: the conversation's, kept by messages too short to tell their own."""
        return self.parse_batch([text], [previous_language])[0]

    async def parse_async(self, text: str, previous_language: str | None = None) -> dict:
        """The processor's parse: one message, on the caller's thread (the server micro-batches instead)."""
        return self.parse(text, previous_language)

    def parse_batch(self, texts: list[str], previous: list[str | None] | None = None) -> list[dict]:
        """Parse several messages with one encoder pass (the server micro-batches concurrent turns).
        A multilingual bot's parse data says which of its languages each message is in."""
        previous = previous or [None] * len(texts)
        language = [self._language(t or "", p) for t, p in zip(texts, previous)]
        out: list[dict | None] = [self.shortcut(t or "") for t in texts]
        todo = [i for i, parsed in enumerate(out) if parsed is None]
        faq_vectors = None
        if self.faq is not None and len(self.faq) and todo:
            # the FAQ encoder runs beside the intent encoder (ONNX Runtime releases the GIL), so a
            # message costs the slower of the two passes rather than their sum
            faq_vectors = self._faq_thread().submit(self.faq.embed, [texts[i] for i in todo])
        sentiment_vectors = self._sentiment_vectors([texts[i] for i in todo], faq_vectors)
        for i, analysis in zip(todo, self.classifier.analyse([texts[i] for i in todo]) if todo else []):
            out[i] = self._from_analysis(texts[i], analysis, language[i])
        if faq_vectors is not None:
            for i, vector in zip(todo, faq_vectors.result()):
                out[i] = self.faq.decide(out[i], vector, language[i] if len(self.languages) > 1 else None)
        if sentiment_vectors is not None:
            results = self.sentiment.classify(sentiment_vectors.result(), [texts[i] for i in todo])
            for i, found in zip(todo, results):
                out[i]["sentiment"] = found
        if len(self.languages) > 1:
            out = [{**parsed, "language": lang} for parsed, lang in zip(out, language)]
        return out  # type: ignore[return-value]

    def _sentiment_vectors(self, texts: list[str], faq_vectors):
        """A future of the sentiment head's embeddings: the FAQ's vectors when its encoder is the
        head's (no extra pass), else one more base-encoder pass beside the intent encoder's."""
        if self.sentiment is None or not texts:
            return None
        if not self.sentiment.shares_faq:
            return self._faq_thread().submit(self.sentiment.embed, texts)
        if faq_vectors is not None:
            return faq_vectors
        if self.faq is None:
            raise RuntimeError("the sentiment analyser reads the FAQ's vectors, and this model has no FAQ")
        return self._faq_thread().submit(self.faq.embed, texts)  # the bank is empty (edited live)

    def _language(self, text: str, previous: str | None) -> str:
        if len(self.languages) < 2:
            return self.languages[0] if self.languages else "en"
        return detect(text, self.languages, previous)

    def _faq_thread(self):
        if self._faq_executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._faq_executor = ThreadPoolExecutor(1, thread_name_prefix="faq")
        return self._faq_executor

    @staticmethod
    def shortcut(text: str) -> dict | None:
        """Rasa's `/intent{...}` payloads and empty messages need no model."""
        if text.startswith("/"):
            try:
                payload = parse_payload(text)
            except PayloadError:
                payload = None
            if payload is not None:
                return payload
        if not text.strip():
            return {"text": text, "intent": {"name": None, "confidence": 0.0}, "intent_ranking": [], "entities": []}
        return None

    def _from_analysis(self, text: str, analysis, language: str) -> dict:
        similarity = analysis.similarity if self.use_neighbours else None
        parsed = self.parse_ranking(text, ranking(self.classifier.labels, analysis.probabilities), similarity)
        found = list(analysis.entities)
        if self.extractor is not None:
            found += self.extractor.extract(text)
        if self.builtin is not None:
            found += self.builtin.get(language, next(iter(self.builtin.values()))).extract(text)
        parsed["entities"] = map_synonyms(merge_entities(found), self.synonyms)
        return parsed

    def parse_ranking(self, text: str, ranking: list[tuple[str, float]], similarity: float | None = None) -> dict:
        """Group retrieval sub-intents (faq/ask_x) under their parent and apply the fallback rule
        (on confidence, or on confidence x neighbour similarity when the model's thresholds say so)."""
        from agent.nlu.thresholds import OUT_OF_SCOPE, in_scope_score

        parents = parent_ranking(ranking)
        # a class learnt from shipped negatives alone is not the bot's intent: winning means falling back
        added = getattr(self.classifier, "added_out_of_scope", False)
        added_class_won = added and next(iter(parents)) == OUT_OF_SCOPE
        if added:
            parents.pop(OUT_OF_SCOPE, None)
        selectors: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for label, p in ranking:
            if "/" in label:
                selectors[label.split("/")[0]].append((label, p))
        intent_ranking = [{"name": n, "confidence": c} for n, c in parents.items()][:RANKING_LENGTH]
        top = intent_ranking[0]
        second = intent_ranking[1]["confidence"] if len(intent_ranking) > 1 else 0.0
        intent = dict(top)
        score = in_scope_score(top["confidence"], similarity)
        if (
            (added_class_won and self.fallback.enabled)
            or score < self.fallback.threshold
            or top["confidence"] - second < self.fallback.ambiguity_threshold
        ):
            intent = {"name": NLU_FALLBACK, "confidence": self.fallback.threshold}
            intent_ranking.insert(0, dict(intent))
        parsed = {"text": text, "intent": intent, "intent_ranking": intent_ranking, "entities": []}
        if similarity is not None:
            parsed["in_scope_score"] = round(score, 4)
        if selectors:
            parsed["response_selector"] = {
                parent: {
                    "response": {
                        "intent_response_key": ranks[0][0],
                        "confidence": ranks[0][1] / parents[parent],
                        "utter_action": f"utter_{ranks[0][0]}",
                    },
                    "ranking": [{"intent_response_key": k, "confidence": c / parents[parent]} for k, c in ranks],
                }
                for parent, ranks in selectors.items()
            }
        return parsed


def effective_fallback(configured: FallbackConfig, swept) -> FallbackConfig:
    """Thresholds set in config.yml win; otherwise those swept on validation data; else the defaults.
    Without a FallbackClassifier nothing falls back."""
    if not configured.enabled:
        return FallbackConfig(0.0, 0.0, enabled=False)
    if configured.from_config or swept is None:
        return configured
    return FallbackConfig(swept.fallback, swept.ambiguity)


def parent_ranking(ranking: list[tuple[str, float]]) -> dict[str, float]:
    """Retrieval sub-intents (faq/ask_x) add up under their parent intent; best first."""
    parents: dict[str, float] = defaultdict(float)
    for label, p in ranking:
        parents[label.split("/")[0]] += p
    return dict(sorted(parents.items(), key=lambda kv: -kv[1]))


def merge_entities(found: list[dict]) -> list[dict]:
    """The same span and type from two extractors is one entity: rules (regex, built-in) beat the
    tagger, whose span they confirm; everything else is kept, in text order, as Rasa does."""
    kept: list[dict] = []
    for e in sorted(found, key=lambda e: (e["extractor"] == "BertEntityExtractor", e["start"])):
        if any(k["entity"] == e["entity"] and k["start"] < e["end"] and e["start"] < k["end"] for k in kept):
            continue
        kept.append(e)
    return sorted(kept, key=lambda e: (e["start"], e["end"]))
