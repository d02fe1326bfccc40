"""Actions: what the bot does after the policies choose; each returns the events it caused."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.bot.domain import Domain
from agent.core.events import BotUttered, Event
from agent.core.nlg import ResponseGenerator
from agent.core.tracker import Tracker

if TYPE_CHECKING:
    from agent.core.actions.registry import ActionRegistry


@dataclass
class ActionContext:
    tracker: Tracker
    domain: Domain
    nlg: ResponseGenerator
    channel: str | None = None
    registry: ActionRegistry | None = None  # lets a form call its validate_<form> action
    warnings: list[str] = field(default_factory=list)  # shown in the shell's debug view and logs

    @property
    def language(self) -> str | None:
        """The latest message's language (multilingual bots): responses are picked in it."""
        latest = self.tracker.latest_message
        return latest.parse_data.get("language") if latest is not None else None


class Action(ABC):
    name: str = ""

    @abstractmethod
    async def run(self, ctx: ActionContext) -> list[Event]: ...


def bot_message(message: dict) -> BotUttered:
    data = {k: v for k, v in message.items() if k not in ("text", "response")}
    return BotUttered(text=message.get("text"), data=data, metadata={"utter_action": message.get("response")})


def utter(ctx: ActionContext, response: str, /, **kwargs) -> list[Event]:
    message = ctx.nlg.generate(response, ctx.tracker.slots, ctx.channel, language=ctx.language, **kwargs)
    return [bot_message(message)] if message else []
