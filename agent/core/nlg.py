"""Turn a response name into a message: pick a variation by channel and condition, fill {slot}s."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from agent.bot.domain import Domain, ResponseVariation
from agent.bot.language_codes import base

PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w\-]*)\}")


def fill_template(text: str, values: dict[str, Any]) -> str:
    """Replace {name} with the slot value (Rasa writes None for an empty slot); other braces stay."""
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1))) if m.group(1) in values else m.group(0), text)


def condition_holds(variation: ResponseVariation, slots: dict[str, Any]) -> bool:
    for cond in variation.condition:
        value = slots.get(cond.name)
        if value != cond.value and str(value).lower() != str(cond.value).lower():
            return False
    return True


def in_language(variations: list[ResponseVariation], language: str | None) -> list[ResponseVariation]:
    """A multilingual bot's variations carry `language:`; those in the message's language are used,
    else those without one, else whatever exists (better an answer in another language than none)."""
    if language is None or not any(v.language for v in variations):
        return variations
    return (
        [v for v in variations if v.language and base(v.language) == base(language)]
        or [v for v in variations if not v.language]
        or variations
    )


def choose_variation(
    variations: list[ResponseVariation],
    slots: dict[str, Any],
    channel: str | None,
    rng: random.Random,
    language: str | None = None,
) -> ResponseVariation | None:
    """Rasa's order: conditional+channel, default+channel, conditional+no channel, default+no channel
    (among the variations in the message's language)."""
    variations = in_language(variations, language)
    for wanted_channel in ([channel] if channel else []) + [None]:
        pool = [v for v in variations if v.channel == wanted_channel]
        for candidates in (
            [v for v in pool if v.condition and condition_holds(v, slots)],
            [v for v in pool if not v.condition],
        ):
            if candidates:
                return rng.choice(candidates)
    return None


@dataclass
class ResponseGenerator:
    domain: Domain
    rng: random.Random = field(default_factory=random.Random)

    def generate(
        self,
        name: str,
        slots: dict[str, Any],
        channel: str | None = None,
        /,
        language: str | None = None,
        **kwargs: Any,
    ) -> dict | None:
        """kwargs fill templates too (an action server may send {"response": ..., "name": ...})."""
        variations = self.domain.responses.get(name)
        if not variations:
            return None
        var = choose_variation(variations, slots, channel, self.rng, language)
        if var is None:
            return None
        values = {**slots, **kwargs}
        message: dict[str, Any] = {"response": name}
        if var.text is not None:
            message["text"] = fill_template(var.text, values)
        if var.buttons:
            message["buttons"] = [{"title": fill_template(b.title, values), "payload": b.payload} for b in var.buttons]
        if var.quick_replies:
            message["quick_replies"] = [{"title": b.title, "payload": b.payload} for b in var.quick_replies]
        for key in ("image", "attachment", "elements", "custom", "button_type", "id"):
            value = getattr(var, key)
            if value is not None:
                message[key] = value
        return message
