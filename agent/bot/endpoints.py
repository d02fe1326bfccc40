"""`endpoints.yml` (Rasa's file): where the action server lives, the tracker store and the lock store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.bot.env_vars import expand_env_vars
from agent.bot.handoff_settings import HandoffSettings, parse_handoff
from agent.bot.schema import Reader, key_line
from agent.bot.yaml_source import read_yaml
from agent.errors import Errors, Problems

# Events sent to an action server by default: what rasa-sdk actions look back over (the current
# turn, recent slot changes), without a payload that grows with the conversation.
DEFAULT_EVENTS_WINDOW = 100
KNOWN = ("action_endpoint", "tracker_store", "lock_store", "event_broker", "models", "nlg", "handoff")


@dataclass
class Endpoints:
    action_url: str | None = None
    action_timeout: float = 10.0
    action_events: int | None = DEFAULT_EVENTS_WINDOW  # sent to the action server; None: the whole history
    tracker_store: dict = field(default_factory=dict)  # Rasa's keys: type, dialect, db, url, port, ...
    source: str = "endpoints.yml"  # file:line of the tracker_store key, for errors about the whole section
    file: str = "endpoints.yml"
    lock_store: dict = field(default_factory=dict)  # Rasa's keys: type, url, port, db, ..., lock_lifetime
    lock_source: str = "endpoints.yml"  # file:line of the lock_store key
    handoff: HandoffSettings = field(default_factory=HandoffSettings)


def load_endpoints(path: str | Path | None) -> Endpoints:
    if path is None or not Path(path).is_file():
        return Endpoints()
    problems = Problems()
    r = Reader(str(path), problems)
    raw, found = expand_env_vars(read_yaml(path) or {}, str(path))  # ${VAR}, as Rasa reads it
    problems.items.extend(found)
    data = r.mapping(raw, "endpoints.yml") or {}
    r.check_keys(data, KNOWN, "endpoints.yml")
    out = Endpoints(file=str(path))
    action = data.get("action_endpoint")
    if action is not None:
        action = r.mapping(action, "action_endpoint", key_line(data, "action_endpoint")) or {}
        r.check_keys(action, ("url", "timeout", "token", "cafile", "tracker_events"), "action_endpoint")
        if not action.get("url"):
            r.error(key_line(data, "action_endpoint"), Errors.ACTION_ENDPOINT_WITHOUT_URL)
        out.action_url = str(action.get("url") or "") or None
        try:
            out.action_timeout = float(action.get("timeout", out.action_timeout))
        except (TypeError, ValueError):
            r.error(key_line(action, "timeout"), Errors.ACTION_TIMEOUT_NOT_A_NUMBER)
        events = action.get("tracker_events", out.action_events)
        if events == "all":
            out.action_events = None
        elif isinstance(events, int) and not isinstance(events, bool) and events > 0:
            out.action_events = events
        else:
            r.error(key_line(action, "tracker_events"), Errors.TRACKER_EVENTS_FORM, value=events)
    store = data.get("tracker_store")
    if store is not None:
        out.tracker_store = r.mapping(store, "tracker_store", key_line(data, "tracker_store")) or {}
        out.source = f"{path}:{key_line(data, 'tracker_store') or '?'}"
    locks = data.get("lock_store")
    if locks is not None:
        out.lock_store = r.mapping(locks, "lock_store", key_line(data, "lock_store")) or {}
        out.lock_source = f"{path}:{key_line(data, 'lock_store') or '?'}"
    if data.get("handoff") is not None:
        out.handoff = parse_handoff(data["handoff"], r, key_line(data, "handoff"))
    problems.raise_if_errors()
    return out
