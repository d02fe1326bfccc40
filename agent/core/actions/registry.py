"""Find the action object for an action name."""

from __future__ import annotations

from agent.bot.domain import Domain
from agent.bot.endpoints import DEFAULT_EVENTS_WINDOW
from agent.bot.handoff_settings import HandoffSettings
from agent.core.actions.base import Action
from agent.core.actions.builtin import BUILTIN_ACTIONS, UnavailableAction, UtterAction
from agent.core.actions.custom import ActionServer, CustomAction
from agent.core.actions.form import FormAction
from agent.core.actions.handoff import ActionHandoff
from agent.core.actions.two_stage import ActionDefaultAskAffirmation, ActionDefaultAskRephrase, TwoStageFallback

LOOP_AND_ASK_ACTIONS = {
    cls.name: cls for cls in (TwoStageFallback, ActionDefaultAskAffirmation, ActionDefaultAskRephrase)
}
# Rasa's default actions a bot may replace by listing its own under `actions:` (not action_listen,
# which is how a turn ends, nor the loop of the two-stage fallback, which is a loop, not an action)
OVERRIDABLE = (set(BUILTIN_ACTIONS) | {ActionDefaultAskAffirmation.name, ActionDefaultAskRephrase.name}) - {
    "action_listen"
}


class ActionRegistry:
    def __init__(
        self,
        domain: Domain,
        server: ActionServer | None = None,
        server_error: str | None = None,
        events_window: int | None = DEFAULT_EVENTS_WINDOW,
        handoff: HandoffSettings | None = None,
    ):
        self.domain = domain
        self.server = server
        self.server_error = server_error
        self.events_window = events_window
        self.handoff = handoff or HandoffSettings()

    def get(self, name: str) -> Action:
        if name in OVERRIDABLE and self.has_custom(name):
            return CustomAction(name, self.server, self.events_window)  # the bot's own version wins, as in Rasa
        if name in BUILTIN_ACTIONS:
            return BUILTIN_ACTIONS[name]()
        if name == ActionHandoff.name:
            return self.handoff_action()
        if name in LOOP_AND_ASK_ACTIONS:
            return LOOP_AND_ASK_ACTIONS[name]()
        if name.startswith("utter_") and self.domain.knows_action(name):
            return UtterAction(name)
        if name in self.domain.forms:
            return FormAction(name)
        if self.server is not None:
            return CustomAction(name, self.server, self.events_window)
        return UnavailableAction(
            name,
            self.server_error
            or "no action server is configured (set action_endpoint in endpoints.yml) and the bot has no actions/ code",
        )

    def handoff_action(self, reason: str = "requested") -> Action:
        """The bot's own action_handoff when it lists one, else ours with the given reason."""
        if self.has_custom(ActionHandoff.name):
            return CustomAction(ActionHandoff.name, self.server, self.events_window)
        return ActionHandoff(self.handoff, reason)

    def has_custom(self, name: str) -> bool:
        return self.server is not None and name in self.domain.actions
