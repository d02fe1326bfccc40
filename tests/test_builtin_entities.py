"""Built-in extractors (spaCy Matcher on a blank pipeline): spans and Duckling-like values."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.nlu.builtin_entities import BuiltinEntityExtractor
from agent.nlu.lang.en.entities import parse_number

NOW = dt.datetime(2026, 11, 23, 10, 0)  # a Monday


@pytest.fixture(scope="module")
def builtin():
    return BuiltinEntityExtractor(now=NOW)


def _found(builtin, text):
    return [(e["entity"], text[e["start"] : e["end"]], e["value"]) for e in builtin.extract(text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("I paid $25.50 for two shirts", [("amount-of-money", "$25.50", 25.5), ("number", "two", 2)]),
        ("twenty five euros please", [("amount-of-money", "twenty five euros", 25)]),
        ("transfer 1,200 usd to savings", [("amount-of-money", "1,200 usd", 1200)]),
        ("one hundred and twenty", [("number", "one hundred and twenty", 120)]),
        ("write to ana@example.com", [("email", "ana@example.com", "ana@example.com")]),
        ("call +44 20 7946 0958 now", [("phone-number", "+44 20 7946 0958", "+442079460958")]),
        ("call me on 555-123-4567", [("phone-number", "555-123-4567", "5551234567")]),
        ("my order ORD-123456 is late", [("order-id", "ORD-123456", "ORD-123456")]),
        ("order #12345678 never came", [("order-id", "#12345678", "#12345678")]),
        ("deliver it tomorrow", [("time", "tomorrow", "2026-11-24")]),
        ("can it come on friday", [("time", "on friday", "2026-11-27")]),
        ("next monday works", [("time", "next monday", "2026-11-30")]),
        ("on march 3rd", [("time", "march 3rd", "2027-03-03")]),
        ("3 december 2026", [("time", "3 december 2026", "2026-12-03")]),
        ("at 3pm", [("time", "at 3pm", "2026-11-23T15:00:00")]),
        ("in 2 weeks", [("time", "in 2 weeks", "2026-12-07")]),
        (
            "see https://shop.example.com/help",
            [("url", "https://shop.example.com/help", "https://shop.example.com/help")],
        ),
        ("nothing to see here", []),
    ],
)
def test_builtin_entities(builtin, text, expected):
    assert _found(builtin, text) == expected


def test_only_the_wanted_dimensions_are_extracted():
    only_email = BuiltinEntityExtractor(["email"], now=NOW)
    assert _found(only_email, "mail ana@example.com 25 dollars tomorrow") == [
        ("email", "ana@example.com", "ana@example.com")
    ]


def test_money_keeps_its_unit_like_duckling():
    money = BuiltinEntityExtractor(["amount-of-money"], now=NOW).extract("it cost €30")[0]
    assert money["additional_info"] == {"value": 30, "unit": "EUR"}
    assert money["extractor"] == "BuiltinEntityExtractor"


def test_number_words():
    assert parse_number(["three", "thousand", "two", "hundred"]) == 3200
    assert parse_number(["2k"]) == 2000 and parse_number(["2.5k"]) == 2500
    assert parse_number(["banana"]) is None


def test_domain_entities_with_builtin_names_switch_their_extractors_on(tmp_path):
    from agent.bot.project import load_bot
    from agent.train import entity_settings
    from tests.helpers.bot_factory import MINIMAL_DOMAIN, write_bot

    root = write_bot(tmp_path / "bot", domain=MINIMAL_DOMAIN + "entities:\n  - email\n  - product\n")
    assert entity_settings(load_bot(root))["builtin"] == ["email"]
    configured = write_bot(
        tmp_path / "bot2",
        domain=MINIMAL_DOMAIN + "entities:\n  - email\n",
        config="pipeline:\n- name: DucklingEntityExtractor\n  dimensions: [time]\n",
    )
    assert entity_settings(load_bot(configured))["builtin"] == ["time"]
