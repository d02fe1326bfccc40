"""Hybrid routing between intents and the FAQ for one parsed message.

The FAQ answers when the classifier names a retrieval intent (Rasa's `faq`, `chitchat`: the bank
then picks the answer among that intent's entries); when no intent is confident (nlu_fallback) but
the best FAQ match clears the threshold; or when the classifier named an intent but the message is
clearly nearer an FAQ question than any intent example (by the swept margin). Otherwise the parse is
left as the classifier made it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.bot.language_codes import base
from agent.faq.bank import FAQBank, FAQMatch
from agent.faq.reference import IntentReference
from agent.faq.threshold import FAQThreshold

CANDIDATES = 5
NLU_FALLBACK = "nlu_fallback"


@dataclass
class FAQRouter:
    bank: FAQBank
    threshold: FAQThreshold
    intents: IntentReference | None = None
    answer_unrecognised: bool = True  # False: only retrieval intents the classifier names (Rasa's way)

    def __len__(self) -> int:
        return len(self.bank)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.bank.embedder.embed(texts)

    def decide(self, parsed: dict, vector: np.ndarray, language: str | None = None) -> dict:
        bank, t = self.bank, self.threshold
        matches = in_language(bank, bank.search_vectors(vector[None, :], CANDIDATES)[0], language)
        near_intent = float(self.intents.nearest(vector)[0]) if self.intents is not None else None
        parsed["faq"] = {"candidates": [m.to_dict() for m in matches], "threshold": t.value, "answer": None}
        if near_intent is not None:
            parsed["faq"]["nearest_intent_example"] = round(near_intent, 4)
        intent = (parsed.get("intent") or {}).get("name")
        chosen: list[FAQMatch] = []
        if intent in bank.groups():
            chosen = in_language(bank, bank.search_vectors(vector[None, :], CANDIDATES, group=intent)[0], language)
        elif (
            self.answer_unrecognised
            and matches
            and matches[0].score >= t.value
            and (
                intent in (NLU_FALLBACK, None)
                or near_intent is None
                or t.margin is None
                or matches[0].score - near_intent >= t.margin
            )
        ):
            group = bank.get(matches[0].id).group
            chosen = [m for m in matches if bank.get(m.id).group == group]
            parsed["intent"] = {"name": group, "confidence": round(chosen[0].score, 4)}
            parsed["intent_ranking"] = [dict(parsed["intent"])] + [
                r for r in parsed.get("intent_ranking", []) if r.get("name") != NLU_FALLBACK
            ]
        if chosen:
            parsed["faq"]["answer"] = chosen[0].id
            entry = bank.get(chosen[0].id)
            selector = parsed.setdefault("response_selector", {})
            selector[entry.group] = selector_entry(bank, chosen)
            selector["all_retrieval_intents"] = sorted(bank.groups())
        return parsed


def in_language(bank: FAQBank, matches: list[FAQMatch], language: str | None) -> list[FAQMatch]:
    """A multilingual bank answers in the message's language: entries marked with another language
    give way to those in it or unmarked (unless nothing else matched)."""
    if language is None:
        return matches
    kept = [m for m in matches if not bank.get(m.id).language or base(bank.get(m.id).language) == base(language)]
    return kept or matches


def selector_entry(bank: FAQBank, ranked: list[FAQMatch]) -> dict:
    """Rasa's response_selector shape, so `utter_faq` and action servers read it as they would Rasa's."""
    best = bank.get(ranked[0].id)
    response = {
        "id": best.id,
        "intent_response_key": best.key,
        "utter_action": f"utter_{best.key}",
        "confidence": round(ranked[0].score, 4),
    }
    if best.response is None:
        response["responses"] = [dict(best.answer)]
    return {
        "response": response,
        "ranking": [
            {"id": m.id, "intent_response_key": bank.get(m.id).key, "confidence": round(m.score, 4)} for m in ranked
        ],
    }
