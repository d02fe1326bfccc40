"""Rasa's two-stage fallback: "Did you mean X?", then "Could you rephrase?", then give up.

It runs as a loop (`active_loop: action_two_stage_fallback`). When the user confirms or rephrases
clearly, the loop ends and the clarified message is replayed as if the user had said it, so the
usual rules answer it. Two unclear messages in a row, or a second "no", end in
action_default_fallback. The three steps it delegates to (ask affirmation, ask rephrase, fallback)
are looked up like any predicted action, so a bot's own versions win, as in Rasa. As in Rasa's
LoopAction, the loop's end (`active_loop: null`) comes before the fallback's own events, so a rule
`condition: active_loop: action_two_stage_fallback` → `action_two_stage_fallback` →
`active_loop: null` → X fires after a fallback that keeps the user's message.
"""

from __future__ import annotations

import copy
import time

from agent.core.actions.base import Action, ActionContext, bot_message, utter
from agent.core.actions.builtin import ActionDefaultFallback
from agent.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUtteranceReverted, UserUttered
from agent.core.tracker import ACTION_LISTEN, Tracker

NAME = "action_two_stage_fallback"
NLU_FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
REPHRASE_TEXT = "I'm sorry, I didn't quite understand that. Could you rephrase?"


def _last_intents(tracker: Tracker, n: int) -> list[str | None]:
    users = [e for e in tracker.applied_events() if isinstance(e, UserUttered)]
    return [u.intent_name for u in users[-n:]]


async def _delegate(ctx: ActionContext, name: str, fallback: type[Action]) -> list[Event]:
    """Run a default action the way the processor would: the bot's own version when it has one."""
    action = ctx.registry.get(name) if ctx.registry is not None else fallback()
    return await action.run(ctx)


class ActionDefaultAskAffirmation(Action):
    name = "action_default_ask_affirmation"

    async def run(self, ctx: ActionContext) -> list[Event]:
        latest = ctx.tracker.latest_message
        ranking = [r["name"] for r in (latest.parse_data.get("intent_ranking") or []) if r["name"] != NLU_FALLBACK]
        intent = ranking[0] if ranking else None
        if intent is None:
            return await _delegate(ctx, ActionDefaultAskRephrase.name, ActionDefaultAskRephrase)
        asked = utter(ctx, "utter_ask_affirmation", intent=intent)
        if asked:
            return asked
        return [
            bot_message(
                {
                    "text": f"Did you mean '{intent}'?",
                    "response": "utter_ask_affirmation",
                    "buttons": [
                        {"title": "Yes", "payload": f"/{intent}"},
                        {"title": "No", "payload": f"/{OUT_OF_SCOPE}"},
                    ],
                }
            )
        ]


class ActionDefaultAskRephrase(Action):
    name = "action_default_ask_rephrase"

    async def run(self, ctx: ActionContext) -> list[Event]:
        return utter(ctx, "utter_ask_rephrase") or [
            bot_message({"text": REPHRASE_TEXT, "response": "utter_ask_rephrase"})
        ]


class TwoStageFallback(Action):
    name = NAME

    async def run(self, ctx: ActionContext) -> list[Event]:
        tracker = ctx.tracker
        if tracker.active_loop != NAME:
            return [ActiveLoop(name=NAME)] + await _delegate(
                ctx, ActionDefaultAskAffirmation.name, ActionDefaultAskAffirmation
            )
        last = _last_intents(tracker, 3)
        ended: list[Event] = [ActiveLoop(name=None), SlotSet(name="requested_slot", value=None)]
        gave_up = last[-2:] == [NLU_FALLBACK, NLU_FALLBACK] or last == [OUT_OF_SCOPE, NLU_FALLBACK, OUT_OF_SCOPE]
        if gave_up:
            given_up = await _delegate(ctx, ActionDefaultFallback.name, ActionDefaultFallback)
            if any(isinstance(e, UserUtteranceReverted) for e in given_up):
                # Rasa's revert would undo the loop's end and leave the loop active; we end it for good
                given_up += ended
            return ended + given_up
        if last[-1] not in (NLU_FALLBACK, OUT_OF_SCOPE):  # clarified: replay it as the user's message
            clarified = copy.deepcopy(tracker.latest_message)
            clarified.parse_data["intent"]["confidence"] = 1.0
            clarified.timestamp = time.time()
            return [*ended, ActionExecuted(name=ACTION_LISTEN), clarified]
        if last[-1] == NLU_FALLBACK:
            return await _delegate(ctx, ActionDefaultAskAffirmation.name, ActionDefaultAskAffirmation)
        return await _delegate(ctx, ActionDefaultAskRephrase.name, ActionDefaultAskRephrase)
