"""Maintenance windows: when no automatic mutation may happen (people are working on the cluster).

Format, one window per string: `<days> <HH:MM>-<HH:MM> [<IANA timezone>]`, e.g. `Sat 02:00-04:00 UTC`,
`Mon-Fri 22:00-23:30 Europe/Paris`, `Sat,Sun 00:00-24:00`, `daily 03:00-03:15`. The timezone defaults to
UTC. A window whose end is before its start runs past midnight into the next day (`Sat 23:00-01:00`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tagent.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHAPE = re.compile(r"^\s*(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})(?:\s+(?P<tz>\S+))?\s*$")
EXAMPLE = "expected e.g. 'Sat 02:00-04:00 UTC' or 'Mon-Fri 22:00-23:00 Europe/Paris'"


@dataclass(frozen=True)
class MaintenanceWindow:
    text: str
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, 0..1440 (24:00)
    tz: ZoneInfo

    def contains(self, at: datetime) -> bool:
        """Is `at` (an aware datetime) inside this window?"""
        local = at.astimezone(self.tz)
        minute = local.hour * 60 + local.minute + local.second / 60.0
        day = local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        # past midnight (or a full 24 h when start == end): the tail belongs to the previous day's window
        return (day in self.days and minute >= self.start) or ((day - 1) % 7 in self.days and minute < self.end)


def _day(name: str, text: str) -> int:
    low = name.lower()
    if low in DAYS:
        return DAYS.index(low)
    if low in _FULL:
        return _FULL.index(low)
    raise ConfigError(f"maintenance window {text!r}: unknown day {name!r} (use Mon..Sun); {EXAMPLE}")


def _days(spec: str, text: str) -> frozenset[int]:
    if spec.lower() in ("daily", "*", "everyday"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in spec.split(","):
        if "-" in part:
            first, last = (_day(p, text) for p in part.split("-", 1))
            day = first
            days.add(day)
            while day != last:
                day = (day + 1) % 7
                days.add(day)
        else:
            days.add(_day(part, text))
    return frozenset(days)


def _minutes(hhmm: str, text: str, *, is_end: bool) -> int:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes != 0 or not is_end)):
        raise ConfigError(f"maintenance window {text!r}: invalid time {hhmm!r}; {EXAMPLE}")
    return hours * 60 + minutes


def parse_window(text: str) -> MaintenanceWindow:
    """Parse one window; raises ConfigError with a one-line explanation."""
    m = _SHAPE.match(text)
    if m is None:
        raise ConfigError(f"maintenance window {text!r}: cannot parse; {EXAMPLE}")
    tz_name = m.group("tz") or "UTC"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"maintenance window {text!r}: unknown timezone {tz_name!r}; {EXAMPLE}") from exc
    start = _minutes(m.group("start"), text, is_end=False)
    end = _minutes(m.group("end"), text, is_end=True)
    return MaintenanceWindow(text=text, days=_days(m.group("days"), text), start=start, end=end, tz=tz)


def parse_windows(texts: list[str]) -> list[MaintenanceWindow]:
    return [parse_window(t) for t in texts]
