"""Find the action object for an action name."""
from __future__ import annotations

from agent.bot.domain import Domain
from agent.core.actions.base import Action
from agent.core.actions.form import FormAction
from agent.core.actions.builtin import BUILTIN_ACTIONS, UnavailableAction, UtterAction


def action_for(name: str, domain: Domain) -> Action:
    if name in BUILTIN_ACTIONS:
        return BUILTIN_ACTIONS[name]()
    if name.startswith("utter_") and domain.knows_action(name):
        return UtterAction(name)
    if name in domain.forms:
        return FormAction(name)
    return UnavailableAction(name, "custom actions (in-process or an action server) run in a later release")
