"""The `handoff:` section of endpoints.yml: when the bot hands a conversation to a person, and who
may take it.

    handoff:
      queue: support            # the queue new handoffs join
      after_fallbacks: 2        # this many nlu_fallback messages in a row hand off (0: never)
      after_negative: 2         # this many negative messages in a row hand off (needs SentimentAnalyzer)
      cancel_intents: [deny]    # while still queued, these give the conversation back to the bot
      queue_timeout: 600        # seconds nobody accepted: back to the bot, which offers other ways
      agent_timeout: 900        # seconds an agent stayed quiet: back to the queue
      agents:                   # who may use the agent API and desk page, by token
        alice: ${ALICE_TOKEN}
      hours:                    # when people staff the desk (agent.bot.business_hours)
        timezone: Asia/Shanghai
        open: "08:00"
        close: "20:00"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.bot.business_hours import BusinessHours, parse_hours
from agent.bot.schema import Reader, key_line
from agent.errors import Errors

KEYS = (
    "queue",
    "after_fallbacks",
    "after_negative",
    "cancel_intents",
    "queue_timeout",
    "agent_timeout",
    "agents",
    "hours",
)
_COUNTS = {"after_fallbacks": ("messages", 2), "after_negative": ("messages", 2)}
_SECONDS = {"queue_timeout": ("seconds", 600), "agent_timeout": ("seconds", 900)}


@dataclass(frozen=True)
class HandoffSettings:
    queue: str = "default"
    after_fallbacks: int = 0
    after_negative: int = 0
    cancel_intents: tuple[str, ...] = ()
    queue_timeout: int = 0
    agent_timeout: int = 0
    agents: dict[str, str] = field(default_factory=dict)  # token -> agent name
    hours: BusinessHours | None = None  # None: always staffed

    def agent_for(self, token: str) -> str | None:
        return self.agents.get(token)


def parse_handoff(raw: Any, r: Reader, line: int | None) -> HandoffSettings:
    data = r.mapping(raw, "handoff", line)
    if data is None:
        return HandoffSettings()
    r.check_keys(data, KEYS, "handoff")
    values: dict[str, Any] = {}
    if "queue" in data:
        queue = data["queue"]
        if isinstance(queue, str) and queue.strip():
            values["queue"] = queue.strip()
        else:
            r.error(key_line(data, "queue"), Errors.HANDOFF_QUEUE_NAME, value=queue)
    for key, (unit, example) in {**_COUNTS, **_SECONDS}.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            values[key] = value
        else:
            r.error(
                key_line(data, key), Errors.HANDOFF_SETTING_NUMBER, key=key, unit=unit, value=value, example=example
            )
    if "cancel_intents" in data:
        values["cancel_intents"] = tuple(
            r.string_list(data["cancel_intents"], "handoff: cancel_intents", key_line(data, "cancel_intents"))
        )
    if "agents" in data:
        values["agents"] = _agents(data["agents"], r, key_line(data, "agents"))
    if "hours" in data:
        values["hours"] = parse_hours(data["hours"], r, key_line(data, "hours"))
    return HandoffSettings(**values)


def _agents(raw: Any, r: Reader, line: int | None) -> dict[str, str]:
    tokens: dict[str, str] = {}
    if not isinstance(raw, dict):
        r.error(line, Errors.HANDOFF_AGENTS_FORM)
        return tokens
    for name, token in raw.items():
        if not isinstance(token, str) or not token or token in tokens:
            r.error(key_line(raw, name) or line, Errors.HANDOFF_AGENTS_FORM)
            continue
        tokens[token] = str(name)
    return tokens
