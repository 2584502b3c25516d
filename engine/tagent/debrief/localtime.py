"""The team's time: "last night", "this morning", "yesterday", "tonight" in the escalation policy's zone.

Every phrase resolves on a clock passed in (the engine's: the sandbox clock in the demo), in the time zone
of the default escalation policy's night window (`team_timezone`), never in the server's UTC. A time is
told the way a colleague says it: "last night at 1:32 AM IST", "this morning at 6:05 AM IST".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tagent.errors import ValidationError
from tagent.policy.ruleset import RuleSet

NIGHT_START, NIGHT_END, NOON, EVENING = time(20, 0), time(8, 0), time(12, 0), time(18, 0)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    label: str


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a one-line ValidationError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {name!r}") from exc


def team_timezone(ruleset: RuleSet | None) -> ZoneInfo:
    """The default escalation policy's night-window zone; UTC when the rules name none."""
    policy = ruleset.default_policy() if ruleset is not None else None
    night = policy.spec.night if policy is not None else None
    return zone(night.timezone) if night is not None else ZoneInfo("UTC")


def timezone_of_rules(rules: str) -> ZoneInfo:
    """`team_timezone` of a local rules directory (the `rules` setting); UTC for a Git URL or broken rules."""
    from tagent.policy.files import pack_paths
    from tagent.policy.validate import check_paths

    root = Path(rules)
    if "://" in rules or rules.startswith("git@") or not root.exists():
        return ZoneInfo("UTC")
    return team_timezone(check_paths(pack_paths(root), promtool=None).ruleset)


def window(phrase: str, now: datetime, tz: tzinfo) -> Window:
    """The range a phrase names, ending no later than `now`. ValidationError for an unknown phrase."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
    key = phrase.strip().lower().replace("-", " ")
    if key == "last night":
        # after 20:00 "last night" is still the one that ended this morning
        start = midnight - timedelta(days=1) + _delta(NIGHT_START)
        span = Window(start, midnight + _delta(NIGHT_END), "last night")
    elif key == "this morning":
        span = Window(midnight, midnight + _delta(NOON), "this morning")
    elif key == "yesterday":
        span = Window(midnight - timedelta(days=1), midnight, "yesterday")
    elif key == "today":
        span = Window(midnight, midnight + timedelta(days=1), "today")
    elif key == "tonight":
        span = Window(midnight + _delta(EVENING), midnight + timedelta(days=1) + _delta(NIGHT_END), "tonight")
    else:
        raise ValidationError(f"unknown period {phrase!r}: say last night, this morning, yesterday, today or "
                              "tonight")
    return Window(span.start, min(span.end, local), span.label)


def _delta(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute)


def clock(at: datetime, tz: tzinfo) -> str:
    """'1:32 AM' in `tz`."""
    local = at.astimezone(tz)
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def zone_abbreviation(at: datetime, tz: tzinfo) -> str:
    name = at.astimezone(tz).tzname() or "UTC"
    return "UTC" if name in ("UTC", "+00") else name


def stamp(at: datetime, tz: tzinfo) -> str:
    """'1:32 AM IST': the clock with its zone, as every debrief and answer shows a time."""
    return f"{clock(at, tz)} {zone_abbreviation(at, tz)}"


def relative_day(at: datetime, now: datetime, tz: tzinfo) -> str:
    """'last night', 'this morning', 'this afternoon', 'this evening', 'yesterday', or 'on Monday, 1 December'."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    days = (today - local.date()).days
    if days == 0:
        if local.time() < time(5, 0):
            return "last night"
        return "this morning" if local.time() < NOON else "this afternoon" if local.time() < EVENING \
            else "this evening"
    if days == 1:
        return "last night" if local.time() >= NIGHT_START else "yesterday"
    return f"on {local.strftime('%A')}, {local.day} {local.strftime('%B')}"


def spoken(at: datetime, now: datetime, tz: tzinfo) -> str:
    """'last night at 1:32 AM IST'."""
    return f"{relative_day(at, now, tz)} at {stamp(at, tz)}"


def greeting(now: datetime, tz: tzinfo) -> str:
    """The greeting for the local hour."""
    hour = now.astimezone(tz).hour
    return "Good morning" if 5 <= hour < 12 else "Good afternoon" if 12 <= hour < 18 else "Good evening"


def as_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: the engine's clock gives aware times")
    return at.astimezone(UTC)
