"""Polling for a condition in tests: one helper for every area (real servers take their time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float = 20.0, what: str = "condition",
             interval: float = 0.1) -> T:
    """Call `probe` until it returns something truthy and return that; fail naming `what` after `timeout`
    wall seconds (with the last value seen)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
