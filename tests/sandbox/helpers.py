"""Small helpers for the sandbox tests: polling with a deadline (no fixed sleeps)."""

from __future__ import annotations

from tests.waiting import wait_for

__all__ = ["wait_for"]
