"""The playbook runner: steps in order, each journaled before and after it runs, resumable after kill -9.

    runner = PlaybookRunner(store, registry, owner="engine-1")
    run = runner.create(playbook_spec, origin=decision, target=ref, event=event, rule=rule_ctx, params=p)
    outcome = runner.execute(run.id)          # also what `resume_unfinished()` calls for each unfinished run

Guarantees and how:
- Ownership: `execute` claims the run (`runs.claim`) and a heartbeat thread refreshes it; another engine
  can take a run over only when the heartbeat is older than `stale_after`. A runner that loses its claim
  stops after the current step.
- Journal: `runs.start_step` before a step and `runs.finish_step` after it. On a restart the walk starts
  again: a step with a finish row is not run again (its stored result is replayed to `on_step`), so a
  finished mutating step is never repeated. The first step without one resumes.
- Fencing across replicas (docs/ha.md): with `leading` (the elector's "my Fence while I hold the Lease"),
  a run is claimed under the leader's term, taken over at once from a lower term, and before each step the
  runner checks it still leads with that term; every journal write carries the term and fails with
  FencedOut in the database once another leader began a newer term. Either way the run stops ("lost").
- A step that started but never finished (the crash hit while it ran) runs again with `attempt` > 1: a
  mutating action then recalls its plan from the journal (`JournalPlans`) and checks whether its effect
  already happened before it mutates (see tagent.actions.base). Idempotency keys are `<run>:<section>:<i>`.
- Timeouts are per step and cooperative (actions poll until their deadline; each API call has its own
  timeout). `retries` re-run a step whose failure is transient, with exponential backoff.
- `on_failure` runs (journaled in its own section) when a step fails or is blocked; the run is then failed.
- `approval.request` answering `approval_required` parks the run (`awaiting_approval`) without finishing
  the step; `execute` after the decision runs that step again, which reads the decision.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tagent.actions import CATALOG, ActionContext, Registry
from tagent.detect.render import RenderError
from tagent.model import Decision, Event, StepResult, StepStatus, WorkloadRef, utcnow
from tagent.model.policy import PlaybookSpec, Step
from tagent.playbooks.snapshot import RunSnapshot
from tagent.playbooks.steps import JournalPlans, render_step
from tagent.store import Fence, FencedOut, RunRecord, RunStatus, Store

log = logging.getLogger(__name__)
STOP_STATUSES = (StepStatus.failed, StepStatus.blocked)
# Steps that wait for the effect of an earlier change: after a dry-run change there is nothing to wait for
# (a crash-looping workload would never become healthy, and read-only mode would page for every incident).
CHECKS_AFTER_A_CHANGE = frozenset({"kubernetes.wait_healthy", "prometheus.verify", "wait"})


@dataclass(frozen=True)
class StepReport:
    run_id: str
    section: str  # steps | on_failure
    index: int
    name: str
    action: str
    result: StepResult
    replayed: bool = False  # read back from the journal, not run now

    @property
    def key(self) -> str:
        return f"{self.run_id}:{self.section}:{self.index}"


@dataclass
class RunOutcome:
    run_id: str
    status: RunStatus
    detail: str = ""
    steps: list[StepReport] = field(default_factory=list)
    failed_step: str | None = None
    claimed: bool = True  # False: another engine owns the run

    @property
    def verified(self) -> StepReport | None:
        """The last health check that held (wait_healthy, prometheus.verify), if any."""
        checks = ("kubernetes.wait_healthy", "prometheus.verify")
        return next((s for s in reversed(self.steps) if s.section == "steps" and s.action in checks
                     and s.result.status == StepStatus.ok), None)


OnStep = Callable[[RunRecord, StepReport], None]
Leading = Callable[[], Fence | None]  # this replica's Fence while it leads, else None


def snapshot_of(spec: PlaybookSpec, *, origin: Decision | str, target: WorkloadRef, event: Event | None = None,
                rule: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                routes: list[str] | None = None, phones: list[str] | None = None, ack_timeout: float = 300.0,
                severity: str = "warning") -> dict[str, Any]:
    """What a run stores to resume from (its `params` column): for callers that insert the run row themselves,
    in their own transaction (tagent.incidents)."""
    return RunSnapshot.build(spec, origin=origin, target=target, event=event, rule=rule or {},
                             params=dict(params or {}), routes=list(routes or []), phones=list(phones or []),
                             ack_timeout=ack_timeout, severity=severity).model_dump(mode="json")


class PlaybookRunner:
    def __init__(self, store: Store, registry: Registry, *, clock: Callable[[], Any] = utcnow,
                 owner: str | None = None, stale_after: float = 60.0, heartbeat_every: float | None = None,
                 retry_backoff: float = 1.0, on_step: OnStep | None = None, leading: Leading | None = None) -> None:
        self.store, self.registry, self.clock = store, registry, clock
        self.owner = owner or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every or max(0.05, stale_after / 3)
        self.retry_backoff = retry_backoff
        self.on_step = on_step
        self.leading = leading  # None: one engine, no election, no fence
        self.stop = threading.Event()  # set on shutdown: running steps give up at their next poll

    # -- creating -------------------------------------------------------------------------------------
    def create(self, spec: PlaybookSpec, *, playbook: str, origin: Decision | str, target: WorkloadRef,
               event: Event | None = None, rule: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
               incident_id: str | None = None, run_id: str | None = None, routes: list[str] | None = None,
               phones: list[str] | None = None, ack_timeout: float = 300.0, severity: str = "warning",
               dry_run: bool = False) -> RunRecord:
        """Store a run (idempotent for an explicit `run_id`: the stored run comes back unchanged)."""
        snapshot = snapshot_of(spec, origin=origin, target=target, event=event, rule=rule, params=params,
                               routes=routes, phones=phones, ack_timeout=ack_timeout, severity=severity)
        decision = origin if isinstance(origin, Decision) else None
        return self.store.runs.create(playbook, target, at=self.clock(), run_id=run_id, incident_id=incident_id,
                                      decision_id=decision.id if decision else None, params=snapshot,
                                      rules_version=decision.rules_version if decision else "", dry_run=dry_run)

    # -- running --------------------------------------------------------------------------------------
    def resume_unfinished(self) -> list[RunOutcome]:
        """At start: execute every run that is still running or waiting (those another engine holds are
        skipped and come back with `claimed=False`)."""
        return [self.execute(run.id) for run in self.store.runs.unfinished()]

    def execute(self, run_id: str) -> RunOutcome:
        run = self.store.runs.get(run_id)
        if run is None:
            raise KeyError(f"no playbook run {run_id}")
        if run.status in (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled):
            return RunOutcome(run_id, run.status, run.detail, self._replay(run))
        fence = self.leading() if self.leading is not None else None
        if self.leading is not None and fence is None:
            return RunOutcome(run_id, run.status, "this replica is not the leader", claimed=False)
        try:
            if not self.store.runs.claim(run_id, self.owner, now=self.clock(), stale_after=self.stale_after,
                                         fence=fence):
                return RunOutcome(run_id, run.status, f"run {run_id} is owned by {run.owner}", claimed=False)
            if run.status == RunStatus.awaiting_approval:  # the approval was answered: the run is running again
                self.store.runs.set_status(run_id, RunStatus.running, at=self.clock(), detail="resumed", fence=fence)
        except FencedOut as exc:
            return RunOutcome(run_id, run.status, str(exc), claimed=False)
        lost = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(run_id, lost), name=f"heartbeat-{run_id}", daemon=True)
        beat.start()
        try:
            return self._execute(run, lost, fence)
        except FencedOut as exc:
            log.warning("run %s stopped: %s", run_id, exc)
            return RunOutcome(run_id, RunStatus.running, str(exc), claimed=False)
        finally:
            lost.set()
            beat.join(timeout=5)

    def _heartbeat(self, run_id: str, lost: threading.Event) -> None:
        while not lost.wait(self.heartbeat_every):
            if not self.store.runs.heartbeat(run_id, self.owner, now=self.clock()):
                log.warning("run %s was taken over by another engine", run_id)
                lost.set()

    def _execute(self, run: RunRecord, lost: threading.Event, fence: Fence | None) -> RunOutcome:
        snap = RunSnapshot.model_validate(run.params)
        outcome = RunOutcome(run.id, RunStatus.running)
        status, failed = self._section(run, snap, "steps", outcome, lost, fence)
        if status == "waiting":
            self.store.runs.set_status(run.id, RunStatus.awaiting_approval, at=self.clock(),
                                       detail=f"waiting for approval at {failed}", fence=fence)
            outcome.status, outcome.detail = RunStatus.awaiting_approval, f"waiting for approval at {failed}"
            return outcome
        if status == "lost":
            outcome.detail, outcome.claimed = "another engine took the run over", False
            return outcome
        if status == "ok":
            self.store.runs.set_status(run.id, RunStatus.succeeded, at=self.clock(), detail="every step succeeded",
                                       fence=fence)
            outcome.status, outcome.detail = RunStatus.succeeded, "every step succeeded"
            return outcome
        report = outcome.steps[-1]
        outcome.failed_step = report.name
        outcome.detail = f"step {report.name} {report.result.status.value}: {report.result.detail}"
        if self._section(run, snap, "on_failure", outcome, lost, fence)[0] == "lost":
            outcome.detail, outcome.claimed = "another engine took the run over", False
            return outcome
        self.store.runs.set_status(run.id, RunStatus.failed, at=self.clock(), detail=outcome.detail, fence=fence)
        outcome.status = RunStatus.failed
        return outcome

    def _section(self, run: RunRecord, snap: RunSnapshot, section: str, outcome: RunOutcome,
                 lost: threading.Event, fence: Fence | None) -> tuple[str, str | None]:
        """Walk one section: ("ok"|"failed"|"waiting"|"lost", name of the step that stopped it)."""
        context = {"event": snap.event_model(run.target), "target": run.target, "rule": snap.rule,
                   "params": dict(snap.params)}
        for index, step in enumerate(snap.steps(section)):
            if lost.is_set() or self.stop.is_set() or (self.leading is not None and self.leading() != fence):
                return "lost", None
            name = step.name or f"{section}[{index}]"
            spec = CATALOG.get(step.action)
            claim = self.store.runs.start_step(run.id, index, action=step.action, at=self.clock(), name=name,
                                               mutates=bool(spec and spec.mutates), section=section, fence=fence)
            if claim.finished and claim.result is not None:
                report = StepReport(run.id, section, index, name, step.action, claim.result, replayed=True)
            else:
                result = self._run_step(run, snap, section, index, step, context, claim.attempt, fence)
                report = StepReport(run.id, section, index, name, step.action, result)
                if result.status == StepStatus.approval_required:
                    self._notify(run, report)
                    return "waiting", name
                self.store.runs.finish_step(run.id, index, result, section=section, fence=fence)
            outcome.steps.append(report)
            self._notify(run, report)
            if report.result.status in STOP_STATUSES and section == "steps":
                return "failed", name
        return "ok", None

    def _run_step(self, run: RunRecord, snap: RunSnapshot, section: str, index: int, step: Step,
                  context: dict[str, Any], attempt: int, fence: Fence | None) -> StepResult:
        where = f"{section}[{index}]"
        try:
            params = render_step(step, where, context)
        except RenderError as exc:
            return StepResult(status=StepStatus.failed, detail=f"cannot render parameters: {exc}",
                              started_at=self.clock(), finished_at=self.clock())
        action = self.registry[step.action]
        if step.action in CHECKS_AFTER_A_CHANGE and any(
                r.status == StepStatus.dry_run for r in self.store.runs.finished_steps(run.id, section).values()):
            return StepResult(status=StepStatus.skipped, detail="dry-run: nothing was changed, so nothing to wait for",
                              started_at=self.clock(), finished_at=self.clock())
        tries = 0
        while True:
            ctx = ActionContext(origin=snap.origin(), target=run.target, run_id=run.id, incident_id=run.incident_id,
                                step_key=f"{run.id}:{section}:{index}", attempt=attempt + tries,
                                timeout=step.timeout, plans=JournalPlans(self.store, run.id, section, index,
                                                                         at=self.clock, fence=fence),
                                routes=tuple(snap.routes), phones=tuple(snap.phones), ack_timeout=snap.ack_timeout,
                                stop=self.stop)
            try:
                result = action.run(params, ctx)
            except FencedOut:  # another leader took over while the step ran: it stops here, unjournaled
                raise
            except Exception as exc:  # a bug in an action must fail the step, not kill the run's thread
                log.exception("action %s crashed in run %s", step.action, run.id)
                result = StepResult(status=StepStatus.failed, detail=f"internal error: {type(exc).__name__}: {exc}",
                                    started_at=self.clock(), finished_at=self.clock())
            if result.status != StepStatus.failed or not result.data.get("transient") or tries >= step.retries:
                return result.model_copy(update={"data": {**result.data, "tries": tries + 1}})
            tries += 1
            delay = min(30.0, float(result.data.get("retry_after") or 0) or self.retry_backoff * 2 ** (tries - 1))
            log.info("retrying %s of run %s in %.1fs (%d/%d): %s", where, run.id, delay, tries, step.retries,
                     result.detail)
            if self.stop.wait(delay):
                return result

    def _notify(self, run: RunRecord, report: StepReport) -> None:
        if self.on_step is not None:
            self.on_step(run, report)

    def _replay(self, run: RunRecord) -> list[StepReport]:
        out = []
        for e in self.store.runs.journal(run.id):
            if e.phase == "finish" and e.result is not None and e.section in ("steps", "on_failure"):
                out.append(StepReport(run.id, e.section, e.index, e.name, e.action, e.result, replayed=True))
        return out

