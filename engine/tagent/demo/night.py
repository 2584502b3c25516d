"""Where the demo's sandbox clock starts: inside the default policy's night window, so Night Mode shows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def night_start(now: datetime, timezone: str = "Asia/Kolkata", local: time = time(1, 30)) -> datetime:
    """The most recent `local` time (01:30 by default) in `timezone`, as aware UTC: the middle of the night."""
    zone = ZoneInfo(timezone)
    here = now.astimezone(zone)
    start = here.replace(hour=local.hour, minute=local.minute, second=0, microsecond=0)
    if start > here:
        start -= timedelta(days=1)
    return start.astimezone(UTC)
