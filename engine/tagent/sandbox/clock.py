"""The sandbox clock: sandbox time runs `speed` times faster than wall time, from a chosen start.

Every timestamp, back-off and metrics window in the sandbox reads this one clock, so a demo at 60x shows
an hour of crash-loop back-off in a minute and all the numbers still agree with each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Monotonic sandbox time: `start + (monotonic() - t0) * speed`. Thread-safe, never goes back."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = float(speed)
        self._monotonic = monotonic
        self._t0 = monotonic()
        base = start if start is not None else datetime.now(UTC)
        if base.tzinfo is None:
            raise ValueError("the clock start must be timezone-aware")
        self._start = base.astimezone(UTC)
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def elapsed(self) -> float:
        """Sandbox seconds since the clock started."""
        return (self._monotonic() - self._t0) * self._speed

    def now(self) -> datetime:
        """Aware UTC datetime in sandbox time."""
        return self._start + timedelta(seconds=self.elapsed())

    def wall_seconds(self, sandbox_seconds: float) -> float:
        """How long a wall-clock wait lasts for `sandbox_seconds` of sandbox time."""
        return max(0.0, sandbox_seconds) / self._speed

    def sleep(self, sandbox_seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep `sandbox_seconds` of sandbox time; returns True if `stop` was set meanwhile."""
        wait = self.wall_seconds(sandbox_seconds)
        if stop is None:
            time.sleep(wait)
            return False
        return stop.wait(wait)


def rfc3339(moment: datetime) -> str:
    """`2025-01-02T03:04:05Z`: what Kubernetes writes in metadata (seconds, Z for UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(moment: datetime) -> str:
    """MicroTime, as in Lease renewTime and Event eventTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(moment: datetime) -> str:
    """The `kubectl logs --timestamps` prefix (nanoseconds, padded from microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp as written by `rfc3339` (or with an offset)."""
    value = text.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_age(seconds: float) -> str:
    """kubectl's short age: 45s, 3m12s, 5h, 2d3h (the same rules as duration.HumanDuration)."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d"
