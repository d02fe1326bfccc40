"""Button payloads `/intent{...}` bypass NLU, as in Rasa."""

from __future__ import annotations

import pytest

from agent.nlu.payload import PayloadError, parse_payload


def test_bare_intent():
    data = parse_payload("/greet")
    assert data == {
        "text": "/greet",
        "intent": {"name": "greet", "confidence": 1.0},
        "intent_ranking": [{"name": "greet", "confidence": 1.0}],
        "entities": [],
    }


def test_intent_with_entities():
    data = parse_payload('/inform{"size": "M", "count": 2}')
    assert data["intent"] == {"name": "inform", "confidence": 1.0}
    ents = data["entities"]
    assert [(e["entity"], e["value"]) for e in ents] == [("size", "M"), ("count", 2)]
    assert all(e["extractor"] == "payload" for e in ents)


def test_intent_with_confidence():
    data = parse_payload("/affirm@0.5")
    assert data["intent"] == {"name": "affirm", "confidence": 0.5}
    assert data["intent_ranking"] == [{"name": "affirm", "confidence": 0.5}]


def test_confidence_and_entities_together():
    data = parse_payload('/inform@0.75{"city": "Rome"}')
    assert data["intent"] == {"name": "inform", "confidence": 0.75}
    assert [(e["entity"], e["value"]) for e in data["entities"]] == [("city", "Rome")]


def test_list_values_become_one_entity_each():
    data = parse_payload('/inform{"topping": ["cheese", "ham"], "size": "L"}')
    assert [(e["entity"], e["value"]) for e in data["entities"]] == [
        ("topping", "cheese"),
        ("topping", "ham"),
        ("size", "L"),
    ]


def test_retrieval_intent_and_surrounding_space():
    data = parse_payload("  /faq/ask_hours  ")
    assert data["intent"]["name"] == "faq/ask_hours"


@pytest.mark.parametrize("text", ['/inform{"size": M}', "/inform{size}", "/inform{'size': 'M'}"])
def test_invalid_json_raises_payload_error(text):
    with pytest.raises(PayloadError, match="not valid JSON"):
        parse_payload(text)


def test_unclosed_brace_is_not_a_payload():
    assert parse_payload('/inform{"a": 1') is None


def test_json_that_is_not_an_object_raises():
    with pytest.raises(PayloadError):
        parse_payload('/inform{"a"}')


@pytest.mark.parametrize("text", ["hello", "what is 1/2", "", "/", "greet{}", " / "])
def test_plain_text_returns_none(text):
    assert parse_payload(text) is None


def test_malformed_confidence_falls_back_to_zero_like_rasa():
    parsed = parse_payload("/greet@1.2.3")
    assert parsed["intent"] == {"name": "greet", "confidence": 0.0}
    assert parse_payload("/greet@5")["intent"]["confidence"] == 1.0
