"""Forms: ask for each required slot in turn until all are filled (Rasa 3.x semantics).

The form is rejected (ActionExecutionRejected) when the user's answer filled nothing it asked
for; the policies then handle the digression and the form resumes by asking again.
"""

from __future__ import annotations

from agent.core.actions.base import Action, ActionContext, bot_message
from agent.core.events import ActionExecutionRejected, ActiveLoop, Event, SlotSet, UserUttered
from agent.core.slot_filling import intent_allowed
from agent.core.tracker import ACTION_LISTEN, Tracker

REQUESTED_SLOT = "requested_slot"


class FormAction(Action):
    def __init__(self, name: str):
        self.name = name

    async def run(self, ctx: ActionContext) -> list[Event]:
        tracker, domain = ctx.tracker, ctx.domain
        form = domain.forms[self.name]
        events: list[Event] = []
        slots = dict(tracker.slots)
        if tracker.active_loop != self.name:
            events.append(ActiveLoop(name=self.name))
            events += self._trigger_intent_slots(ctx)
        elif tracker.state.latest_action == ACTION_LISTEN:
            requested = slots.get(REQUESTED_SLOT)
            if requested and not _filled_since_last_user(tracker, requested):
                return [ActionExecutionRejected(name=self.name)]
        for e in events:
            if isinstance(e, SlotSet):
                slots[e.name] = e.value
        if tracker.state.latest_action == ACTION_LISTEN:
            events += await self._validate(ctx, events)
            for e in events:
                if isinstance(e, SlotSet):
                    slots[e.name] = e.value
        missing = next((s for s in form.required_slots if slots.get(s) is None), None)
        if missing is None:
            return events + [ActiveLoop(name=None), SlotSet(name=REQUESTED_SLOT, value=None)]
        events.append(SlotSet(name=REQUESTED_SLOT, value=missing))
        slots[REQUESTED_SLOT] = missing
        return events + await self._ask(ctx, events, slots, missing)

    async def _ask(self, ctx: ActionContext, events: list[Event], slots: dict, slot: str) -> list[Event]:
        """Rasa's order: action_ask_<form>_<slot>, utter_ask_<form>_<slot>, action_ask_<slot>,
        utter_ask_<slot>; the first the bot has asks."""
        for name in (
            f"action_ask_{self.name}_{slot}",
            f"utter_ask_{self.name}_{slot}",
            f"action_ask_{slot}",
            f"utter_ask_{slot}",
        ):
            if name.startswith("action_"):
                if ctx.registry is not None and ctx.registry.has_custom(name):
                    return await ctx.registry.get(name).run(self._view(ctx, events))
                continue
            message = ctx.nlg.generate(name, slots, ctx.channel, language=ctx.language)
            if message is not None:
                return [bot_message(message)]
        return []

    @staticmethod
    def _view(ctx: ActionContext, events: list[Event]) -> ActionContext:
        """The context an action called by the form sees: the tracker with the form's events so far."""
        return ActionContext(
            ctx.tracker.copy_with(events), ctx.domain, ctx.nlg, ctx.channel, ctx.registry, ctx.warnings
        )

    async def _validate(self, ctx: ActionContext, events: list[Event]) -> list[Event]:
        """Run `validate_<form>` (e.g. a rasa-sdk FormValidationAction) on what the user just gave."""
        name = f"validate_{self.name}"
        if ctx.registry is None or not ctx.registry.has_custom(name):
            return []
        return [
            e
            for e in await ctx.registry.get(name).run(self._view(ctx, events))
            if not isinstance(e, ActionExecutionRejected)
        ]

    def _trigger_intent_slots(self, ctx: ActionContext) -> list[SlotSet]:
        latest = ctx.tracker.latest_message
        intent = latest.intent_name if latest else None
        out = []
        for slot in ctx.domain.slots.values():
            for m in slot.mappings:
                if (
                    m.type == "from_trigger_intent"
                    and intent_allowed(m, intent, None, slot.name)
                    and (not m.conditions or any(c.active_loop == self.name for c in m.conditions))
                ):
                    out.append(SlotSet(name=slot.name, value=m.value))
                    break
        return out


def _filled_since_last_user(tracker: Tracker, slot: str) -> bool:
    for e in reversed(tracker.applied_events()):
        if isinstance(e, UserUttered):
            return False
        if isinstance(e, SlotSet) and e.name == slot and e.value is not None:
            return True
    return False
