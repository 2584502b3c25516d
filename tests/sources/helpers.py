"""Shared helpers for the source tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from tagent.model.core import Event


def step_until(step: Callable[[], object], events: list[Event], predicate: Callable[[list[Event]], bool],
               timeout: float = 40.0) -> None:
    """Call `step()` until `predicate(events)` holds (AssertionError with what was seen on timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step()
        if predicate(events):
            return
    seen = sorted({(e.kind, e.reason, str(e.target)) for e in events})
    raise AssertionError(f"condition not met within {timeout}s; events seen: {seen}")


def of(events: list[Event], reason: str, name: str | None = None) -> list[Event]:
    return [e for e in events if e.reason == reason and (name is None or e.target.name == name)]
