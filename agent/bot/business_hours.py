"""When people staff the desk: `handoff: hours:` in endpoints.yml. Outside them action_handoff says so
(`utter_handoff_closed`) instead of queueing a customer nobody will answer.

    hours:
      timezone: Asia/Shanghai        # an IANA zone (default UTC)
      days: [mon, tue, wed, thu, fri, sat]
      open: "08:00"
      close: "20:00"                 # a close before the open runs past midnight
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.bot.schema import Reader, key_line
from agent.errors import Errors

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = ("timezone", "days", "open", "close")


@dataclass(frozen=True)
class BusinessHours:
    timezone: str = "UTC"
    days: tuple[str, ...] = DAYS
    open: dt.time = dt.time(0, 0)
    close: dt.time = dt.time(0, 0)  # equal to open: around the clock

    def staffed(self, when: dt.datetime) -> bool:
        local = when.astimezone(ZoneInfo(self.timezone))
        now, day = local.time(), DAYS[local.weekday()]
        if self.open == self.close:
            return day in self.days
        if self.open < self.close:
            return day in self.days and self.open <= now < self.close
        # past midnight: the evening belongs to today, the early morning to the day before
        yesterday = DAYS[(local.weekday() - 1) % 7]
        return (day in self.days and now >= self.open) or (yesterday in self.days and now < self.close)


def parse_hours(raw: Any, r: Reader, line: int | None) -> BusinessHours | None:
    data = r.mapping(raw, "handoff: hours", line)
    if data is None:
        return None
    r.check_keys(data, KEYS, "handoff: hours")
    values: dict[str, Any] = {}
    zone = data.get("timezone", "UTC")
    try:
        ZoneInfo(str(zone))
        values["timezone"] = str(zone)
    except (ZoneInfoNotFoundError, ValueError):
        r.error(key_line(data, "timezone"), Errors.HANDOFF_HOURS, key="timezone", value=zone, example="Asia/Shanghai")
    if "days" in data:
        days = [str(d).lower()[:3] for d in r.string_list(data["days"], "handoff: hours: days", key_line(data, "days"))]
        if days and all(d in DAYS for d in days):
            values["days"] = tuple(days)
        else:
            r.error(
                key_line(data, "days"), Errors.HANDOFF_HOURS, key="days", value=data["days"], example="[mon, tue, wed]"
            )
    for key in ("open", "close"):
        if key in data:
            parsed = _time(data[key])
            if parsed is None:
                r.error(key_line(data, key), Errors.HANDOFF_HOURS, key=key, value=data[key], example='"08:00"')
            else:
                values[key] = parsed
    return BusinessHours(**values)


def _time(value: Any) -> dt.time | None:
    """ "08:00" (YAML may also read 08:00 unquoted as minutes: 480)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return dt.time(value // 60, value % 60)
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        return None
