"""Background work yields to a storm's admission, for a bounded time: it waits while the intake has a backlog,
goes on as soon as the backlog is gone, never waits longer than its bound (nothing starves) and never holds
up a stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tagent.guard import Guard
from tagent.incidents.book import Book
from tagent.incidents.parts import Parts
from tagent.policy import RuleSet
from tagent.settings import Settings
from tagent.store import Store


def _parts(tmp_path: Path, backlog: threading.Event) -> tuple[Parts, Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'tagent.db'}")
    settings = Settings(data_dir=tmp_path)
    return Parts(store=store, guard=Guard(store, settings), book=Book(), rules=RuleSet, clock=lambda: None,  # type: ignore[arg-type]
                 workloads=store.inventory.get_many, backlog=backlog.is_set), store


def _timed(fn: object) -> float:
    start = time.monotonic()
    fn()  # type: ignore[operator]
    return time.monotonic() - start


def test_it_waits_for_the_backlog_then_goes_on(tmp_path: Path) -> None:
    backlog = threading.Event()
    parts, store = _parts(tmp_path, backlog)
    with store:
        assert _timed(lambda: parts.yield_to_admission(max_wait=5.0)) < 0.1  # no backlog: no wait
        backlog.set()
        threading.Timer(0.3, backlog.clear).start()
        waited = _timed(lambda: parts.yield_to_admission(max_wait=5.0))
        assert 0.25 <= waited < 2.0  # until the backlog was admitted, not the full bound


def test_it_never_waits_longer_than_its_bound_nor_past_a_stop(tmp_path: Path) -> None:
    backlog = threading.Event()
    backlog.set()  # a storm that never ends
    parts, store = _parts(tmp_path, backlog)
    with store:
        waited = _timed(lambda: parts.yield_to_admission(max_wait=0.4))
        assert 0.35 <= waited < 1.5
        stop = threading.Event()
        threading.Timer(0.1, stop.set).start()
        assert _timed(lambda: parts.yield_to_admission(stop, max_wait=10.0)) < 1.0


def test_a_decision_just_admitted_holds_background_work_only_briefly(tmp_path: Path) -> None:
    backlog = threading.Event()
    parts, store = _parts(tmp_path, backlog)
    with store:
        parts.admitted_at = time.monotonic()  # a decision was admitted this instant, nothing else queued
        waited = _timed(lambda: parts.yield_to_admission(max_wait=5.0))
        assert 0.05 <= waited < 0.6  # YIELD_RECENT_S (0.1 s), not the bound
