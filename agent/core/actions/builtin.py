"""Rasa's default actions and response actions, with Rasa's names and events."""

from __future__ import annotations

from agent.core.actions.base import Action, ActionContext, bot_message, utter
from agent.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
)

DEFAULT_FALLBACK_TEXT = "Sorry, I didn't get that. Could you rephrase?"


class ActionListen(Action):
    name = "action_listen"

    async def run(self, ctx: ActionContext) -> list[Event]:
        return []


class UtterAction(Action):
    """Sends a response; `utter_faq` answers with the retrieval key the NLU picked (utter_faq/ask_x)."""

    def __init__(self, name: str):
        self.name = name

    async def run(self, ctx: ActionContext) -> list[Event]:
        response = self.name
        if response not in ctx.domain.responses:
            latest = ctx.tracker.latest_message
            selector = (latest.parse_data.get("response_selector") or {}) if latest else {}
            parent = self.name[len("utter_") :]
            chosen = (selector.get(parent) or {}).get("response") or {}
            key = chosen.get("intent_response_key")
            if key:
                response = f"utter_{key}"
            if response not in ctx.domain.responses and chosen.get("responses"):
                return [bot_message({**chosen["responses"][0], "response": response})]  # an FAQ answer
        return utter(ctx, response)


class ActionDefaultFallback(Action):
    """Says utter_default and forgets the misunderstood message, as Rasa does."""

    name = "action_default_fallback"

    async def run(self, ctx: ActionContext) -> list[Event]:
        events = utter(ctx, "utter_default") or [
            bot_message({"text": DEFAULT_FALLBACK_TEXT, "response": "utter_default"})
        ]
        return events + [UserUtteranceReverted()]


class ActionRestart(Action):
    name = "action_restart"

    async def run(self, ctx: ActionContext) -> list[Event]:
        return utter(ctx, "utter_restart") + [Restarted()]


class ActionSessionStart(Action):
    """Starts a session; carries slots over when the domain says so, then listens."""

    name = "action_session_start"

    async def run(self, ctx: ActionContext) -> list[Event]:
        events: list[Event] = [SessionStarted()]
        if ctx.domain.session_config.carry_over_slots_to_new_session:
            for name, value in ctx.tracker.slots.items():
                slot = ctx.domain.slots.get(name)
                if slot is not None and value != slot.initial_value:
                    events.append(SlotSet(name=name, value=value))
        events.append(ActionExecuted(name="action_listen"))
        return events


class ActionDeactivateLoop(Action):
    name = "action_deactivate_loop"

    async def run(self, ctx: ActionContext) -> list[Event]:
        return [ActiveLoop(name=None), SlotSet(name="requested_slot", value=None)]


class UnavailableAction(Action):
    """A custom action or form this release cannot run yet: it does nothing, and says so in the log."""

    def __init__(self, name: str, reason: str):
        self.name = name
        self.reason = reason

    async def run(self, ctx: ActionContext) -> list[Event]:
        return []


BUILTIN_ACTIONS = {
    cls.name: cls
    for cls in (ActionListen, ActionDefaultFallback, ActionRestart, ActionSessionStart, ActionDeactivateLoop)
}
