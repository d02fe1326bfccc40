"""`credentials.yml` (Rasa's file): which channels to open and their secrets.

Channels we do not have (facebook, telegram, socketio, custom classes) are skipped with one warning,
so a Rasa project's file loads unchanged; a channel we have with bad settings is an error."""

from __future__ import annotations

import importlib
from pathlib import Path

from agent.bot.env_vars import expand_env_vars
from agent.bot.schema import Reader, key_line
from agent.bot.yaml_source import read_yaml
from agent.channels.base import Channel
from agent.errors import AgentError, Errors, Problems, Warnings

CHANNELS = {
    "rest": "agent.channels.rest:RestChannel",
    "slack": "agent.channels.slack:SlackChannel",
    "wechat": "agent.channels.wechat:WeChatChannel",
    "wecom": "agent.channels.wechat:WeComChannel",
    "chatwoot": "agent.channels.chatwoot:ChatwootChannel",
    "wecom_kf": "agent.channels.wecom_kf:WeComKfChannel",
}
RASA_ALIASES = {"rasa": "rest"}  # Rasa's `rasa:` entry is its own REST-like input


def channel_class(name: str) -> type[Channel]:
    module, _, cls = CHANNELS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def load_channels(path: str | Path | None) -> tuple[list[Channel], list[str]]:
    """The configured channels (REST always, as in Rasa) and warnings about skipped entries."""
    warnings: list[str] = []
    settings: dict[str, dict] = {"rest": {}}
    if path is not None and Path(path).is_file():
        problems = Problems()
        r = Reader(str(path), problems)
        data = r.mapping(read_yaml(path) or {}, "credentials.yml") or {}
        for name, value in data.items():
            line = key_line(data, name)
            ours = RASA_ALIASES.get(name, name)
            if ours not in CHANNELS:
                warnings.append(
                    str(Warnings.CHANNEL_NOT_SUPPORTED.problem(path, line, channel=name, supported=", ".join(CHANNELS)))
                )
                continue
            if value is not None and not isinstance(value, dict):
                r.error(line, Errors.CHANNEL_SETTINGS_NOT_A_MAPPING, channel=name)
                continue
            # ${SLACK_TOKEN} as Rasa reads it; only in channels we open, so a skipped one needs no variables
            value, found = expand_env_vars(value or {}, str(path), key=str(name))
            problems.items.extend(found)
            settings[ours] = dict(value)
        problems.raise_if_errors()
    channels = []
    for name, values in settings.items():
        try:
            channels.append(channel_class(name).from_credentials(values))
        except AgentError as exc:
            raise exc.at(str(path)) from None
    return channels, warnings
