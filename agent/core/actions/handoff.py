"""`action_handoff`: tell the customer a person is coming and join the handoff queue (outside the
desk's hours from endpoints.yml, say when to come back instead).

A default action (usable from rules and stories like Rasa's defaults); the processor also runs it
when a trigger in endpoints.yml's `handoff:` fires (repeated fallback, negative sentiment)."""

from __future__ import annotations

from datetime import datetime, timezone

from agent.bot.handoff_settings import HandoffSettings
from agent.core.actions.base import Action, ActionContext, bot_message, utter
from agent.core.events import Event, HandoffRequested

NAME = "action_handoff"
HANDOFF_TEXT = "I'm passing you to one of our team. A person will reply here shortly."
CLOSED_TEXT = "Our team is not available right now. Please try again during opening hours."
QUEUE_TIMEOUT_TEXT = (
    "Sorry, nobody from our team could take your chat in time. You can leave a message here or email us; "
    "meanwhile I'll help as well as I can."
)
SUMMARY_CHARS = 280  # the customer's last words, for the queue's one-line view


class ActionHandoff(Action):
    name = NAME

    def __init__(self, settings: HandoffSettings | None = None, reason: str = "requested"):
        self.settings = settings or HandoffSettings()
        self.reason = reason

    async def run(self, ctx: ActionContext) -> list[Event]:
        if ctx.tracker.state.handoff.silent:
            return []  # already waiting for, or talking to, a person
        hours = self.settings.hours
        if hours is not None and not hours.staffed(datetime.now(timezone.utc)):
            # nobody would answer: say so rather than queue the customer
            return utter(ctx, "utter_handoff_closed") or [
                bot_message({"text": CLOSED_TEXT, "response": "utter_handoff_closed"})
            ]
        said = utter(ctx, "utter_handoff") or [bot_message({"text": HANDOFF_TEXT, "response": "utter_handoff"})]
        latest = ctx.tracker.latest_message
        summary = (latest.text or "")[:SUMMARY_CHARS] if latest is not None else None
        return [*said, HandoffRequested(reason=self.reason, queue=self.settings.queue, summary=summary)]


def queue_timed_out(ctx: ActionContext) -> list[Event]:
    """What the customer hears when nobody accepted in time (`utter_handoff_timeout`, or a built-in line)."""
    return utter(ctx, "utter_handoff_timeout") or [
        bot_message({"text": QUEUE_TIMEOUT_TEXT, "response": "utter_handoff_timeout"})
    ]
