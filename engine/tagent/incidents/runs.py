"""Run supervision: playbook runs execute in worker threads; each step and each outcome updates the
incident in a lifecycle unit; runs a crash or a restart interrupted continue at once.

Ownership: a run belongs to the engine identity that claimed it (Settings.engine_identity(): stable across
restarts of the same engine), refreshed by a heartbeat. At start (`resume`) and on every tick
(`continue_due`), a run still `running` is taken over when its owner is this identity and no thread of this
process runs it (the same engine restarted), or when its owner's heartbeat is older than `stale_after` (that
engine is gone). So a restart continues its runs within a tick, not after a minute. With leader election
(docs/ha.md) a leader also takes over at once every run of a lower term: its leader is gone or fenced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from tagent.incidents.parts import Parts
from tagent.model import IncidentStatus, StepStatus
from tagent.playbooks import PlaybookRunner, RunOutcome, StepReport
from tagent.playbooks.runner import CATALOG
from tagent.store import RunRecord, RunStatus

log = logging.getLogger(__name__)
RUN_YIELD_MAX_S = 0.25  # a run's start waits at most this long for a storm's admission


def mutated_ok(report: StepReport) -> bool:
    """A step that changed the cluster (the moment an incident counts as mitigated)."""
    spec = CATALOG.get(report.action)
    return bool(spec and spec.mutates) and report.section == "steps" and report.result.status == StepStatus.ok


class Supervisor:
    def __init__(self, parts: Parts, runner: PlaybookRunner, *, executor: Executor | None = None) -> None:
        self.p, self.runner = parts, runner
        runner.on_step = self._on_step
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(4, thread_name_prefix="playbook")
        self._lock = threading.Lock()  # guards the two sets below only (never held during I/O)
        self._futures: set[Future[None]] = set()
        self._inflight: set[str] = set()
        self.on_outcome: Callable[[RunRecord, RunOutcome], None] | None = None

    @property
    def owner(self) -> str:
        return self.runner.owner

    def submit(self, run_id: str) -> None:
        """Queue a run unless this process already runs it (a tick must never start a second copy)."""
        with self._lock:
            if run_id in self._inflight or self.runner.stop.is_set():
                return
            self._inflight.add(run_id)
            future = self._executor.submit(self._execute, run_id)
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _execute(self, run_id: str) -> None:
        try:
            # a storm's admission first, the fix a moment later: a short bound, so a storm's fixes still start
            # at a few a second per worker while decisions keep coming
            self.p.yield_to_admission(self.runner.stop, max_wait=RUN_YIELD_MAX_S)
            outcome = self.runner.execute(run_id)
            run = self.p.store.runs.get(run_id)
            if run is not None and outcome.claimed and self.on_outcome is not None:
                self.on_outcome(run, outcome)
        except Exception:  # a worker thread must log, not swallow: the executor would hide it
            log.exception("playbook run %s crashed", run_id)
        finally:
            with self._lock:
                self._inflight.discard(run_id)

    def _on_step(self, run: RunRecord, report: StepReport) -> None:
        if run.incident_id is None:
            return
        now = self.p.clock()
        with self.p.store.lifecycle.unit() as unit:
            self.p.book.step(unit, run.incident_id, report, now)
            if mutated_ok(report) and not report.replayed:
                self.p.book.status(unit, run.incident_id, IncidentStatus.mitigating, now,
                                   f"mitigating: {report.name} applied")

    # -- after a restart ------------------------------------------------------------------------------
    def resume(self) -> list[str]:
        """At start: submit every run this engine may continue now (see the module docstring)."""
        return self.continue_due(self.p.clock())

    def continue_due(self, now: datetime) -> list[str]:
        """Runs to (re)submit: parked runs whose approval was answered, and running runs that nobody runs."""
        stale = now - timedelta(seconds=self.runner.stale_after)
        lifecycle = self.p.store.lifecycle
        with self._lock:
            inflight = set(self._inflight)
        due = [run_id for run_id in lifecycle.answered_parked() if run_id not in inflight]
        fence = self.runner.leading() if self.runner.leading is not None else None
        for run_id, owner, beat, status, term in lifecycle.busy_runs():
            if status != RunStatus.running.value or run_id in inflight:
                continue
            if owner is None or owner == self.owner or beat is None or beat < stale or (
                    fence is not None and term < fence.term):
                due.append(run_id)
        for run_id in due:
            self.submit(run_id)
        return due

    # -- stopping -------------------------------------------------------------------------------------
    def drain(self, timeout: float) -> bool:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self._lock:
                    futures = set(self._futures)
                if not futures:
                    return True
                wait(futures, timeout=0.2)
            return False
        finally:
            timer.cancel()

    def close(self) -> None:
        self.runner.stop.set()
        if self._own_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)
