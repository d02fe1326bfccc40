"""Typed reading of endpoints.yml's `tracker_store` and `lock_store` keys: a wrong value names its
file, line and key."""

from __future__ import annotations

from typing import Any

from agent.bot.endpoints import Endpoints
from agent.bot.schema import key_line
from agent.errors import AgentError, Entry, Errors


class StoreSettings:
    def __init__(self, endpoints: Endpoints, section: str = "tracker_store"):
        self.section = section
        self.values: dict = getattr(endpoints, section)
        self.file = endpoints.file
        self.source = endpoints.lock_source if section == "lock_store" else endpoints.source

    def where(self, key: str | None = None) -> str:
        """file:line of `key`, or of the section."""
        line = key_line(self.values, key) if key is not None and key in self.values else None
        return f"{self.file}:{line}" if line else self.source

    def error(self, key: str | None, entry: Entry, /, **fields) -> AgentError:
        return entry.error(where=f"{self.where(key)}: {self.section}{f' {key}' if key else ''}", **fields)

    def _scalar(self, key: str) -> Any:
        value = self.values.get(key)
        if isinstance(value, (dict, list)):
            raise self.error(key, Errors.STORE_SETTING_NOT_SCALAR)
        return value

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self._scalar(key)
        return default if value is None or value == "" else str(value)

    def host(self, key: str = "url") -> str:
        host = self.text(key, "localhost")
        if "://" in host or "/" in host:
            raise self.error(key, Errors.STORE_HOST_IS_URL, host=host)
        return host

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self._scalar(key)
        if value is None:
            return default
        try:
            number = int(str(value), 10)
        except ValueError:
            raise self.error(key, Errors.STORE_SETTING_NOT_WHOLE, value=value) from None
        if number < minimum:
            raise self.error(key, Errors.STORE_SETTING_TOO_SMALL, minimum=minimum, number=number)
        return number

    def seconds(
        self, key: str, default: float | None = None, hint: str = "leave it out to keep conversations forever"
    ) -> float | None:
        value = self._scalar(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.error(key, Errors.STORE_SECONDS, value=value, advice=hint)
        return float(value)

    def flag(self, key: str) -> bool:
        value = self._scalar(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.error(key, Errors.STORE_FLAG, value=value)
        return value
