"""ResponseGenerator: variation choice by condition and channel, {slot} filling, buttons."""

from __future__ import annotations

import random

import pytest

from agent.bot.domain import Domain, ResponseVariation, parse_domain
from agent.bot.schema import Reader
from agent.bot.yaml_source import parse_yaml
from agent.core.nlg import ResponseGenerator, fill_template
from agent.errors import Problems

DOMAIN = """
slots:
  name:
    type: text
    mappings: [{type: custom}]
  logged_in:
    type: bool
    mappings: [{type: custom}]
  tier:
    type: categorical
    values: [gold, silver]
    mappings: [{type: custom}]
responses:
  utter_greet:
    - text: "Welcome back, {name}!"
      condition:
        - type: slot
          name: logged_in
          value: true
    - text: "Hello, stranger."
  utter_tier:
    - text: "Gold service for you."
      condition:
        - type: slot
          name: tier
          value: gold
        - type: slot
          name: logged_in
          value: true
    - text: "Standard service."
  utter_channel:
    - text: "Generic reply"
    - text: "Slack reply"
      channel: slack
  utter_ask_size:
    - text: "Which size, {name}?"
      buttons:
        - title: "Small for {name}"
          payload: '/inform{"size": "S"}'
        - title: Large
          payload: /inform
      button_type: vertical
  utter_tier_text:
    - text: "Your tier: {tier} ({extra})"
  utter_json:
    - text: 'Send {"order": 1} or {unknown_thing}; hi {name}'
  utter_rich:
    - image: https://example.com/a.png
      custom:
        kind: card
  utter_channel_conditioned:
    - text: "Generic"
    - text: "Slack VIP"
      channel: slack
      condition:
        - type: slot
          name: logged_in
          value: true
"""


@pytest.fixture(scope="module")
def domain() -> Domain:
    problems = Problems()
    d = parse_domain(parse_yaml(DOMAIN, "domain.yml"), "domain.yml", Reader("domain.yml", problems))
    assert problems.errors == []
    return d


def slots(**values):
    base = {"name": None, "logged_in": None, "tier": None, "requested_slot": None}
    base.update(values)
    return base


def texts(gen: ResponseGenerator, name: str, slot_values: dict, channel: str | None = None, n: int = 30) -> set:
    return {gen.generate(name, slot_values, channel)["text"] for _ in range(n)}


def gen(domain, seed: int = 0) -> ResponseGenerator:
    return ResponseGenerator(domain, random.Random(seed))


def test_slot_filling(domain):
    msg = gen(domain).generate("utter_greet", slots(name="Anna", logged_in=True))
    assert msg == {"response": "utter_greet", "text": "Welcome back, Anna!"}


def test_empty_slot_is_written_as_none_like_rasa(domain):
    assert texts(gen(domain), "utter_greet", slots(logged_in=True)) == {"Welcome back, None!"}


def test_unrelated_braces_are_left_untouched(domain):
    msg = gen(domain).generate("utter_json", slots(name="Bo"))
    assert msg["text"] == 'Send {"order": 1} or {unknown_thing}; hi Bo'


def test_kwargs_fill_placeholders_and_override_slots(domain):
    msg = gen(domain).generate("utter_tier_text", slots(tier="gold"), extra="today", tier="platinum")
    assert msg["text"] == "Your tier: platinum (today)"


def test_kwarg_called_name_fills_the_name_placeholder(domain):
    msg = gen(domain).generate("utter_ask_size", slots(), name="Cy")
    assert msg["text"] == "Which size, Cy?"


def test_fill_template_directly():
    assert fill_template("{a}-{b}-{c}", {"a": 1, "b": None}) == "1-None-{c}"
    assert fill_template("{a-b} {_x}", {"a-b": "dash", "_x": 0}) == "dash 0"


def test_condition_variation_chosen_when_slot_matches(domain):
    assert texts(gen(domain), "utter_greet", slots(name="Anna", logged_in=True)) == {"Welcome back, Anna!"}


@pytest.mark.parametrize("logged_in", [False, None])
def test_default_variation_when_condition_does_not_hold(domain, logged_in):
    assert texts(gen(domain), "utter_greet", slots(name="Anna", logged_in=logged_in)) == {"Hello, stranger."}


def test_all_conditions_must_hold(domain):
    g = gen(domain)
    assert texts(g, "utter_tier", slots(tier="gold", logged_in=True)) == {"Gold service for you."}
    assert texts(g, "utter_tier", slots(tier="gold", logged_in=False)) == {"Standard service."}
    assert texts(g, "utter_tier", slots(tier="silver", logged_in=True)) == {"Standard service."}


def test_channel_variation_only_for_that_channel(domain):
    g = gen(domain)
    assert texts(g, "utter_channel", slots(), channel="slack") == {"Slack reply"}
    assert texts(g, "utter_channel", slots(), channel="rest") == {"Generic reply"}
    assert texts(g, "utter_channel", slots(), channel=None) == {"Generic reply"}


def test_random_choice_among_plain_variations():
    d = Domain(
        responses={
            "utter_x": [
                ResponseVariation(text="One"),
                ResponseVariation(text="Two"),
                ResponseVariation(text="Slack", channel="slack"),
            ]
        }
    )
    assert texts(ResponseGenerator(d, random.Random(1)), "utter_x", {}, n=50) == {"One", "Two"}


def test_buttons_are_present_and_filled(domain):
    msg = gen(domain).generate("utter_ask_size", slots(name="Anna"))
    assert msg["buttons"] == [
        {"title": "Small for Anna", "payload": '/inform{"size": "S"}'},
        {"title": "Large", "payload": "/inform"},
    ]
    assert msg["button_type"] == "vertical"
    assert msg["text"] == "Which size, Anna?"


def test_image_and_custom(domain):
    msg = gen(domain).generate("utter_rich", slots())
    assert msg == {"response": "utter_rich", "image": "https://example.com/a.png", "custom": {"kind": "card"}}


def test_unknown_response_gives_none(domain):
    assert gen(domain).generate("utter_nothing", slots()) is None


def test_failed_channel_condition_falls_back_to_generic_variation(domain):
    g = gen(domain)
    assert texts(g, "utter_channel_conditioned", slots(logged_in=True), channel="slack") == {"Slack VIP"}
    msg = g.generate("utter_channel_conditioned", slots(logged_in=False), channel="slack")
    assert msg is not None and msg["text"] == "Generic"
