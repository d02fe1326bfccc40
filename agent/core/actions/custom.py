"""Custom actions over Rasa's action-server protocol: an HTTP action server or rasa-sdk in process.

Both speak the same JSON (`next_action`, `sender_id`, `tracker`, `domain`, `version` in; `events`
and `responses` out), so an existing rasa-sdk action server or actions package works unchanged.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.bot.domain_dict import rasa_domain_dict
from agent.bot.endpoints import DEFAULT_EVENTS_WINDOW
from agent.core.actions.base import Action, ActionContext, bot_message
from agent.core.events import ActionExecutionRejected, Event, EventFormatError, event_from_dict

log = logging.getLogger(__name__)
RASA_VERSION = "3.6.21"  # the protocol version we speak; rasa-sdk only warns on a mismatch
FAILED_TEXT = "Sorry, something went wrong on my side. Please try again in a moment."


@dataclass
class ServerReply:
    status: int
    body: Any


class ActionServer(Protocol):
    async def call(self, payload: dict) -> ServerReply: ...

    def describe(self) -> str: ...


class ActionServerUnavailable(Exception):
    pass


class HttpActionServer:
    """A rasa-sdk (or compatible) server at `action_endpoint.url`; a short timeout protects channels."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout

    def describe(self) -> str:
        return f"action server {self.url}"

    async def call(self, payload: dict) -> ServerReply:
        import aiohttp

        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as session:
                async with session.post(self.url, json=payload) as resp:
                    try:
                        body = await resp.json(content_type=None)
                    except (json.JSONDecodeError, aiohttp.ContentTypeError):
                        body = {"error": (await resp.text())[:200]}
                    return ServerReply(resp.status, body)
        except asyncio.TimeoutError:
            raise ActionServerUnavailable(f"no answer from {self.url} within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise ActionServerUnavailable(f"cannot reach {self.url}: {exc}") from None


class InProcessActionServer:
    """Runs a bot's rasa-sdk actions package inside this process, through rasa-sdk's own executor."""

    def __init__(self, folder: Path):
        try:
            from rasa_sdk.executor import ActionExecutor
        except ImportError:
            raise ActionServerUnavailable(
                "this bot has custom actions; install rasa-sdk to run them in process "
                "(pip install 'agent[actions]') or set action_endpoint in endpoints.yml"
            ) from None
        self.folder = folder
        self.executor = ActionExecutor()
        self.executor.register_package(_import_actions(folder))

    def describe(self) -> str:
        return f"in-process actions from {self.folder}"

    async def call(self, payload: dict) -> ServerReply:
        from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

        try:
            result = await self.executor.run(payload)
        except ActionExecutionRejection as exc:
            return ServerReply(400, {"error": exc.message, "action_name": exc.action_name})
        except ActionNotFoundException as exc:
            return ServerReply(404, {"error": exc.message, "action_name": exc.action_name})
        except Exception as exc:  # the user's action crashed: report it, keep the conversation alive
            log.exception("custom action %s failed", payload.get("next_action"))
            return ServerReply(500, {"error": f"{type(exc).__name__}: {exc}"})
        return ServerReply(200, result.model_dump() if result else {"events": [], "responses": []})

    def action_names(self) -> list[str]:
        return list(self.executor.actions)


def find_actions_code(bot_dir: Path) -> Path | None:
    """Rasa's layouts: actions/ (a package) or actions.py beside domain.yml."""
    for candidate in (bot_dir / "actions", bot_dir / "actions.py"):
        if candidate.exists():
            return candidate
    return None


ACTIONS_MODULE = "actions"  # the name `rasa run actions` imports, so `from actions import config` works


def _import_actions(path: Path):
    """Import the bot's actions as the package `actions`, as Rasa's action server does, so action
    code can import its siblings (`from actions.db import connect`). A second bot's actions in the
    same process replace the first's; nothing is written into the user's folder."""
    loaded = sys.modules.get(ACTIONS_MODULE)
    if loaded is not None and getattr(loaded, "__agent_actions_path__", None) == str(path.resolve()):
        return loaded
    for name in [n for n in sys.modules if n == ACTIONS_MODULE or n.startswith(ACTIONS_MODULE + ".")]:
        del sys.modules[name]
    try:
        module = _load_actions(path)
    except Exception as exc:
        for name in [n for n in sys.modules if n == ACTIONS_MODULE or n.startswith(ACTIONS_MODULE + ".")]:
            del sys.modules[name]
        raise ActionServerUnavailable(f"could not import the custom actions in {path}: {exc}") from exc
    module.__agent_actions_path__ = str(path.resolve())
    return module


def _load_actions(path: Path):
    import types

    if not path.is_dir():
        return _exec_module(importlib.util.spec_from_file_location(ACTIONS_MODULE, path))
    init = path / "__init__.py"
    if init.exists():
        module = _exec_module(
            importlib.util.spec_from_file_location(ACTIONS_MODULE, init, submodule_search_locations=[str(path)])
        )
    else:  # a namespace package: rasa-sdk still finds the actions in its modules
        module = types.ModuleType(ACTIONS_MODULE)
        module.__path__ = [str(path)]
        sys.modules[ACTIONS_MODULE] = module
    for file in sorted(path.glob("*.py")):
        if file.stem != "__init__":
            importlib.import_module(f"{ACTIONS_MODULE}.{file.stem}")
    return module


def _exec_module(spec):
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def domain_for_action_server(ctx: ActionContext) -> dict:
    """Rasa's domain format, every key present (rasa-sdk reads forms.<f>.required_slots, slots.<s>.mappings)."""
    return rasa_domain_dict(ctx.domain)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


class CustomAction(Action):
    """`events_window`: how many of the latest events the server is sent (None: the whole history,
    read back from the tracker store when a long conversation no longer holds it). Slots, the
    latest message and the active loop are always sent whole."""

    def __init__(self, name: str, server: ActionServer, events_window: int | None = DEFAULT_EVENTS_WINDOW):
        self.name = name
        self.server = server
        self.events_window = events_window

    async def run(self, ctx: ActionContext) -> list[Event]:
        tracker = ctx.tracker
        sent = await tracker.history() if self.events_window is None else tracker.events[-self.events_window :]
        payload = {
            "next_action": self.name,
            "sender_id": tracker.sender_id,
            "tracker": tracker.as_dict(sent),
            "domain": domain_for_action_server(ctx),
            "version": RASA_VERSION,
        }
        try:
            reply = await self.server.call(payload)
        except ActionServerUnavailable as exc:
            return self._failed(ctx, str(exc))
        if reply.status == 400:
            return [ActionExecutionRejected(name=self.name)]
        if reply.status != 200 or not isinstance(reply.body, dict):
            error = reply.body.get("error") if isinstance(reply.body, dict) else reply.body
            return self._failed(ctx, f"{self.server.describe()} answered {reply.status}: {error}")
        return self._events(ctx, reply.body)

    def _events(self, ctx: ActionContext, body: dict) -> list[Event]:
        """What the server answered, as events; anything malformed is skipped with a warning, never
        a failed turn (the rest of the answer still counts)."""
        events: list[Event] = []
        for item in self._items(ctx, body, "responses"):
            if isinstance(item, dict):
                events += self._response(ctx, item)
            else:
                ctx.warnings.append(f"{self.name} returned a response that is not an object ({item!r}); ignored")
        for item in self._items(ctx, body, "events"):
            try:
                events.append(event_from_dict(item))
            except EventFormatError as exc:
                ctx.warnings.append(f"{self.name} returned an event we cannot read ({exc}); ignored")
        return events

    def _items(self, ctx: ActionContext, body: dict, key: str) -> list:
        value = body.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            ctx.warnings.append(f"{self.name} returned '{key}' that is not a list; ignored")
            return []
        return value

    def _response(self, ctx: ActionContext, item: dict) -> list[Event]:
        name = item.get("response") or item.get("template")
        if name and not isinstance(name, str):
            ctx.warnings.append(f"{self.name} asked for a response named {name!r}, which is not a name; ignored")
            return []
        extra = {
            k: v for k, v in item.items() if not _empty(v) and k not in ("response", "template") and isinstance(k, str)
        }
        if "text" in extra and not isinstance(extra["text"], str):
            extra["text"] = json.dumps(extra["text"], ensure_ascii=False)  # shown as sent, not a crash later
        if name:
            kwargs = {
                k: v
                for k, v in extra.items()
                if k not in ("text", "buttons", "image", "elements", "custom", "attachment", "language")
            }
            message = ctx.nlg.generate(name, ctx.tracker.slots, ctx.channel, language=ctx.language, **kwargs)
            if message is None:
                ctx.warnings.append(f"{self.name} asked for response '{name}', which the domain does not have")
                return []
            message.update({k: v for k, v in extra.items() if k not in kwargs})
            return [bot_message(message)]
        return [bot_message(extra)] if extra else []

    def _failed(self, ctx: ActionContext, reason: str) -> list[Event]:
        log.error("custom action %s failed: %s", self.name, reason)
        ctx.warnings.append(f"custom action '{self.name}' failed: {reason}")
        message = ctx.nlg.generate("utter_action_failed", ctx.tracker.slots, ctx.channel, language=ctx.language) or {
            "text": FAILED_TEXT
        }
        return [bot_message(message)]
