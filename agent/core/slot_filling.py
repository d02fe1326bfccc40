"""Fill slots from the latest message's entities as the domain's from_entity mappings say."""
from __future__ import annotations

from agent.bot.domain import Domain, SlotMapping
from agent.core.events import SlotSet
from agent.core.tracker import Tracker


def _mapping_applies(mapping: SlotMapping, intent: str | None, tracker: Tracker) -> bool:
    if mapping.intent and intent not in mapping.intent:
        return False
    if intent in mapping.not_intent:
        return False
    if mapping.conditions:
        return any(c.active_loop == tracker.active_loop and
                   (c.requested_slot is None or c.requested_slot == tracker.slots.get("requested_slot"))
                   for c in mapping.conditions)
    return True


def slots_from_entities(tracker: Tracker, domain: Domain) -> list[SlotSet]:
    latest = tracker.latest_message
    if latest is None:
        return []
    intent = latest.intent_name
    declared = domain.intents.get(intent or "")
    events: list[SlotSet] = []
    for slot in domain.slots.values():
        for mapping in slot.mappings:
            if mapping.type != "from_entity" or not _mapping_applies(mapping, intent, tracker):
                continue
            values = [e.get("value") for e in latest.entities
                      if e.get("entity") == mapping.entity
                      and (mapping.role is None or e.get("role") == mapping.role)
                      and (mapping.group is None or e.get("group") == mapping.group)
                      and (declared is None or declared.uses_entity(e.get("entity")))]
            if not values:
                continue
            value = values if slot.type == "list" else values[0]
            if tracker.slots.get(slot.name) != value:
                events.append(SlotSet(name=slot.name, value=value))
            break
    return events
