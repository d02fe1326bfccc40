"""The parsed `Domain` written back out in Rasa 3.x's domain format.

One derivation serves the model artifact (`domain.json`, read back with `parse_domain`) and the
action-server payload (rasa-sdk reads `forms.<name>.required_slots`, `slots.<name>.mappings`, ...).
It round-trips: `parse_domain(rasa_domain_dict(d), ...)` equals `d` except for the `source` fields
(file and line), which say where a definition was written, not what it is.

What the parsed Domain does not keep cannot come back: an intent's `is_retrieval_intent` and
`triggers`, an entity's `influence_conversation`, a button's `type` and whether its target was a
`url` or a `payload` (written back as `payload`), and YAML comments and key order.
"""

from __future__ import annotations

from typing import Any

from agent.bot.domain import (
    Button,
    Domain,
    Entity,
    Form,
    Intent,
    ResponseVariation,
    SessionConfig,
    Slot,
    SlotMapping,
)

RASA_DOMAIN_VERSION = "3.1"
SAYING_KEYS = ("text", "image", "custom", "attachment", "elements", "buttons")  # a variation needs one of them


def rasa_domain_dict(domain: Domain) -> dict:
    """A fresh plain dict (JSON/YAML-safe, shares nothing with `domain`) in Rasa 3.x's domain format."""
    return {
        "version": RASA_DOMAIN_VERSION,
        "config": {"store_entities_as_slots": domain.store_entities_as_slots},
        "session_config": _session_config(domain.session_config),
        "intents": [_intent(i) for i in domain.intents.values()],
        "entities": [_entity(e) for e in domain.entities.values()],
        "slots": {name: _slot(s) for name, s in domain.slots.items()},
        "responses": {name: [_variation(v) for v in variations] for name, variations in domain.responses.items()},
        "forms": {name: _form(f) for name, f in domain.forms.items()},
        "actions": list(domain.actions),
        "e2e_actions": list(domain.e2e_actions),
    }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _session_config(cfg: SessionConfig) -> dict:
    return {
        "session_expiration_time": _number(cfg.session_expiration_time),
        "carry_over_slots_to_new_session": cfg.carry_over_slots_to_new_session,
    }


def _intent(intent: Intent) -> str | dict:
    props: dict[str, Any] = {}
    if intent.use_entities is not None:
        props["use_entities"] = list(intent.use_entities)
    if intent.ignore_entities:
        props["ignore_entities"] = list(intent.ignore_entities)
    return {intent.name: props} if props else intent.name


def _entity(entity: Entity) -> str | dict:
    props = {key: list(getattr(entity, key)) for key in ("roles", "groups") if getattr(entity, key)}
    return {entity.name: props} if props else entity.name


def _slot(slot: Slot) -> dict:
    out: dict[str, Any] = {
        "type": slot.type,
        "influence_conversation": slot.influence_conversation,
        "initial_value": _copy(slot.initial_value),
    }
    if slot.type == "categorical":
        out["values"] = list(slot.values)
    if slot.type == "float" or (slot.min_value, slot.max_value) != (0.0, 1.0):
        out["min_value"] = _number(slot.min_value)
        out["max_value"] = _number(slot.max_value)
    out["mappings"] = [_mapping(m) for m in slot.mappings]
    return out


def _mapping(m: SlotMapping) -> dict:
    out: dict[str, Any] = {"type": m.type}
    for key in ("entity", "role", "group", "action"):
        if getattr(m, key) is not None:
            out[key] = getattr(m, key)
    for key in ("intent", "not_intent"):
        if getattr(m, key):
            out[key] = list(getattr(m, key))
    if m.type in ("from_intent", "from_trigger_intent") or m.value is not None:
        out["value"] = _copy(m.value)
    if m.conditions:
        out["conditions"] = [
            {
                "active_loop": c.active_loop,
                **({"requested_slot": c.requested_slot} if c.requested_slot is not None else {}),
            }
            for c in m.conditions
        ]
    return out


def _buttons(buttons: list[Button]) -> list[dict]:
    return [{"title": b.title, "payload": b.payload} for b in buttons]


def _variation(v: ResponseVariation) -> dict:
    out: dict[str, Any] = {}
    if v.text is not None:
        out["text"] = v.text
    if v.image is not None:
        out["image"] = v.image
    if v.buttons:
        out["buttons"] = _buttons(v.buttons)
    if v.button_type is not None:
        out["button_type"] = v.button_type
    if v.quick_replies:
        out["quick_replies"] = _buttons(v.quick_replies)
    for key in ("attachment", "elements", "custom"):
        if getattr(v, key) is not None:
            out[key] = _copy(getattr(v, key))
    if not any(key in out for key in SAYING_KEYS):
        out["text"] = None  # the source said only `text: null` or `buttons: []`; parses back the same
    for key in ("channel", "id"):
        if getattr(v, key) is not None:
            out[key] = getattr(v, key)
    if v.metadata is not None:
        out["metadata"] = _copy(v.metadata)
    if v.condition:
        out["condition"] = [{"type": c.type, "name": c.name, "value": _copy(c.value)} for c in v.condition]
    if v.language is not None:
        out["language"] = v.language
    return out


def _form(form: Form) -> dict:
    out: dict[str, Any] = {"required_slots": list(form.required_slots)}
    if form.ignored_intents:
        out["ignored_intents"] = list(form.ignored_intents)
    return out


def _copy(value: Any) -> Any:
    """Plain values (already `plain()` when parsed) copied, so mutating the dict leaves the Domain alone."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
