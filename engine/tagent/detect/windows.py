"""`for:` windows: since when has a threshold held, per condition and target, on the injected clock.

durable_rules' timers tick on wall-clock time in coarse steps and cannot follow a sandbox clock that runs
faster than real time, so the streak is kept here and handed to durable as a number (`held_prop`): the
rule itself (`held >= for`) is still matched by durable. A condition fires when every sample since `for`
seconds ago held, the first sample included (docs/events.md); one sample that does not hold resets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tagent.detect.conditions import CondPlan
from tagent.model.core import Event

STALE_AFTER = 86400.0
"""A streak whose target sent no sample for a day is forgotten (a deleted workload must not pin memory)."""


@dataclass
class _Streak:
    since: float
    last: float


class Streaks:
    """Streak start per (threshold, target). Not thread-safe: the Detector calls it under its lock."""

    def __init__(self) -> None:
        self._streaks: dict[tuple[str, str], _Streak] = {}

    def update(self, conds: Iterable[CondPlan], event: Event, now: float) -> dict[str, float]:
        """Seconds held so far for each `for:` condition on this event's key ({held_prop: seconds}).

        A condition that does not hold gets -1, so durable's `held >= for` is false even for `for: 0`."""
        held: dict[str, float] = {}
        target = event.target.key
        for cp in conds:
            streak, prop = cp.streak, cp.held_prop
            if streak is None or prop is None or cp.threshold is None or prop in held:
                continue
            key = (streak, target)
            if cp.threshold.holds(event.values):
                entry = self._streaks.get(key)
                if entry is None:
                    entry = self._streaks[key] = _Streak(since=now, last=now)
                entry.last = max(entry.last, now)
                held[prop] = max(0.0, now - entry.since)
            else:
                self._streaks.pop(key, None)
                held[prop] = -1.0
        return held

    def prune(self, now: float, keep: set[str] | None = None) -> None:
        """Forget stale streaks, and (on a rules swap) streaks no active condition uses any more."""
        for key in [k for k, v in self._streaks.items()
                    if now - v.last > STALE_AFTER or (keep is not None and k[0] not in keep)]:
            del self._streaks[key]

    def __len__(self) -> int:
        return len(self._streaks)
