"""`action_extract_slots`: after each user message, fill slots as the domain's mappings say.

from_entity, from_intent and from_text run here; from_trigger_intent runs when a form starts;
custom mappings are left to actions. A mapping with `conditions` applies only while one of its
(active_loop, requested_slot) pairs holds. An unconditioned from_text/from_intent mapping of a slot
the active form requires fills it only while the form asks for it, so a form's answers do not
leak into its other slots.
"""

from __future__ import annotations

from typing import Any

from agent.bot.domain import Domain, Form, SlotMapping
from agent.core.events import SlotSet
from agent.core.tracker import Tracker

_NOTHING = object()


def intent_allowed(mapping: SlotMapping, intent: str | None, form: Form | None, slot: str) -> bool:
    if mapping.intent and intent not in mapping.intent:
        return False
    if intent in mapping.not_intent:
        return False
    return not (form and slot in form.required_slots and intent in form.ignored_intents)


def conditions_hold(mapping: SlotMapping, tracker: Tracker) -> bool:
    requested = tracker.slots.get("requested_slot")
    return any(
        c.active_loop == tracker.active_loop and (c.requested_slot is None or c.requested_slot == requested)
        for c in mapping.conditions
    )


def mapping_value(mapping: SlotMapping, tracker: Tracker, domain: Domain, slot_type: str) -> Any:
    latest = tracker.latest_message
    if mapping.type == "from_text":
        return latest.text if latest.text else _NOTHING
    if mapping.type == "from_intent":
        return mapping.value
    if mapping.type == "from_entity":
        declared = domain.intents.get(latest.intent_name or "")
        values = [
            e.get("value")
            for e in latest.entities
            if e.get("entity") == mapping.entity
            and (mapping.role is None or e.get("role") == mapping.role)
            and (mapping.group is None or e.get("group") == mapping.group)
            and (declared is None or declared.uses_entity(e.get("entity")))
        ]
        if not values:
            return _NOTHING
        return values if slot_type == "list" else values[0]
    return _NOTHING


def extract_slots(tracker: Tracker, domain: Domain) -> list[SlotSet]:
    latest = tracker.latest_message
    if latest is None:
        return []
    intent = latest.intent_name
    form = domain.forms.get(tracker.active_loop or "")
    requested = tracker.slots.get("requested_slot")
    events: list[SlotSet] = []
    for slot in domain.slots.values():
        for mapping in slot.mappings:
            if mapping.type in ("custom", "from_trigger_intent"):
                continue
            if not intent_allowed(mapping, intent, form, slot.name):
                continue
            if mapping.conditions:
                if not conditions_hold(mapping, tracker):
                    continue
            elif (
                form
                and slot.name in form.required_slots
                and mapping.type in ("from_text", "from_intent")
                and requested != slot.name
            ):
                continue
            value = mapping_value(mapping, tracker, domain, slot.type)
            if value is _NOTHING:
                continue
            if tracker.slots.get(slot.name) != value or slot.name == requested:
                events.append(SlotSet(name=slot.name, value=value))
            break
    return events
