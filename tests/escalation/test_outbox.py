"""Notifications and calls wait until the incident manager's lock is released, in order, failures logged."""

from __future__ import annotations

import logging
import threading

import pytest

from tagent.escalation.outbox import Outbox


def test_sends_go_out_after_the_outermost_lock_in_order() -> None:
    box = Outbox()
    sent: list[str] = []
    with box.locked():
        with box.locked():  # nested (re-entrant) blocks keep deferring
            box.later(lambda: sent.append("a"))
        box.later(lambda: sent.append("b"))
        assert sent == []
    assert sent == ["a", "b"]
    box.later(lambda: sent.append("c"))  # outside any block: at once
    assert sent == ["a", "b", "c"]


def test_a_slow_send_does_not_hold_the_lock() -> None:
    box = Outbox()
    sending, release = threading.Event(), threading.Event()

    def slow() -> None:
        sending.set()
        release.wait(5)

    worker = threading.Thread(target=lambda: _locked_send(box, slow))
    worker.start()
    assert sending.wait(5)
    got = box.lock.acquire(timeout=1)  # another thread (the dispatcher, an acknowledgement) gets the lock
    assert got
    box.lock.release()
    release.set()
    worker.join(5)


def _locked_send(box: Outbox, send: object) -> None:
    with box.locked():
        box.later(send)  # type: ignore[arg-type]


def test_a_failing_send_is_logged_and_the_rest_still_go(caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox()
    sent: list[str] = []

    def boom() -> None:
        raise RuntimeError("slack is down")

    with caplog.at_level(logging.ERROR), box.locked():
        box.later(boom)
        box.later(lambda: sent.append("teams"))
    assert sent == ["teams"]
    assert "slack is down" in caplog.text
