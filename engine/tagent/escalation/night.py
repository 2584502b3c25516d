"""Night Mode: is a moment inside the escalation policy's night window (which may cross midnight)?"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from tagent.model.core import Severity
from tagent.model.policy import EscalationPolicySpec, NightWindow, Route


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def in_night(window: NightWindow | None, at: datetime) -> bool:
    """True when `at` (aware) falls inside the window, in the window's own timezone."""
    if window is None:
        return False
    local = at.astimezone(ZoneInfo(window.timezone)).time()
    start, end = _hhmm(window.from_), _hhmm(window.to)
    if start == end:
        return True  # a window from 22:00 to 22:00 covers the whole day
    if start < end:
        return start <= local < end
    return local >= start or local < end


def routes_for(policy: EscalationPolicySpec, severity: Severity) -> tuple[list[str], list[str]]:
    """Notification route names and phone names for a severity, in policy order, without duplicates."""
    notify: list[str] = []
    calls: list[str] = []
    route: Route
    for route in policy.routes:
        if severity not in route.severity:
            continue
        notify += [n for n in route.notify if n not in notify]
        if route.call and route.call not in calls:
            calls.append(route.call)
    return notify, calls
