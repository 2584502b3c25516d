"""What the end-to-end tests share: an Engine built the way `tagent run` builds one (on a sandbox), the
guard-admitted decisions as the observable, and probes that watch the cluster from outside the engine to
find the moment a rule's condition starts to hold (so detection latency is measured against the cluster's
truth, not against the engine's own view of it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.model import Decision, Event, WorkloadRef
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tagent.store import Store
from tagent.store.records import DecisionRecord
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]  # holds rules/ and playbooks/: the default pack


def sandbox_engine(sandbox: Sandbox, tmp: Path, *, source_interval: float = 0.5, **settings: Any) -> Engine:
    """An Engine on `sandbox` with the default rules pack, a SQLite store under `tmp` and the sandbox clock;
    request/error rates come from the sandbox's exposition (no Prometheus needed). Not started."""
    kubeconfig = sandbox.write_kubeconfig(tmp / "kubeconfig")
    config = Settings(rules=str(REPO), kubeconfig=kubeconfig, data_dir=tmp / "data",
                      metrics_scrape_url=sandbox.metrics_url, **settings)
    store = Store.open(f"sqlite:///{tmp / 'tagent.db'}")
    return build_engine(config, store=store, clock=sandbox.clock.now, source_interval=source_interval)


def admitted(store: Store, rule: str, target: WorkloadRef, since: datetime | None = None) -> list[DecisionRecord]:
    """Decisions of `rule` on `target` the guard let through (newest first)."""
    return [r for r in store.decisions.list(limit=1000, rule=rule, target=target, since=since)
            if r.verdict is not None and r.verdict.allowed]


@dataclass(frozen=True)
class Fired:
    decision: Decision
    mono: float  # wall (monotonic) time the engine had decided and handed the decision on


class FiredLog:
    """Every decision the engine's matching produced, with when: `Engine.process_batch` (the dispatcher's body)
    is wrapped, not replaced. This sees what fired even when the handler folds a decision into another
    rule's open incident (those never reach the guard, so the store would not show them)."""

    def __init__(self, engine: Engine) -> None:
        self.items: list[Fired] = []
        self._lock = threading.Lock()
        process = engine.process_batch

        def recording(events: list[Event]) -> list[Decision]:
            decisions = process(events)
            done = time.monotonic()
            with self._lock:
                self.items.extend(Fired(d, done) for d in decisions)
            return decisions

        engine.process_batch = recording  # type: ignore[method-assign]

    def of(self, rule: str, target: WorkloadRef) -> list[Fired]:
        with self._lock:
            return [f for f in self.items if f.decision.rule == rule and f.decision.target == target]

    def all(self) -> list[Fired]:
        with self._lock:
            return list(self.items)


class SandboxTime:
    """Maps sandbox time to wall (monotonic) time: the sandbox clock is linear, `speed` times faster."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.speed = sandbox.clock.speed
        self._mono = time.monotonic()
        self._at = sandbox.clock.now()

    def wall(self, moment: datetime) -> float:
        return self._mono + (moment - self._at).total_seconds() / self.speed


@dataclass
class Held:
    """When a condition was first seen to hold; `since` is the last moment it was still seen not holding
    (the truth lies in between, so measuring from `since` over- rather than under-states a latency)."""

    since: datetime
    seen: datetime
    value: Any


class Probe:
    """Polls `check` (which returns a truthy value once the condition holds) in a thread, from outside the
    engine, and records the sandbox times around the first change."""

    def __init__(self, sandbox: Sandbox, check: Callable[[], Any], what: str, interval: float = 0.02) -> None:
        self.sandbox, self.check, self.what, self.interval = sandbox, check, what, interval
        self.held: Held | None = None
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"probe-{what}", daemon=True)

    def __enter__(self) -> Probe:
        self._last_false = self.sandbox.clock.now()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            before = self.sandbox.clock.now()
            try:
                value = self.check()
            except Exception as exc:  # a probe round that failed is reported by wait()
                self.errors.append(f"{type(exc).__name__}: {exc}")
                value = None
            if value:
                self.held = Held(since=self._last_false, seen=self.sandbox.clock.now(), value=value)
                return
            self._last_false = before
            self._stop.wait(self.interval)

    def wait(self, timeout: float) -> Held:
        return wait_for(lambda: self.held, timeout, f"{self.what} to hold in the cluster "
                                                    f"(probe errors: {self.errors[-3:]})")


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()
