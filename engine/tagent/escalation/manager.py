"""`IncidentManager`: the one object the engine, the API and the phone callback talk to about incidents.

    manager = IncidentManager(store, guard, registry, rules=lambda: ruleset, escalation=Escalation(...))
    manager.handle(decision, events) -> Incident     a rule matched (detect): open/attach, guard, act or ask
    manager.acknowledge(incident_id, by) -> Incident  a person has it (API, dashboard, phone digit 1)
    manager.approve(incident_id, by) -> Incident      run what waits for approval (API, dashboard, digit 2)
    manager.deny(incident_id, by, reason) -> Incident Tagent will not act
    manager.resolve(incident_id, by, reason) -> Incident   closed by a person (or the condition cleared)
    manager.tick(now) -> TickReport                   call every few seconds: Night Mode, retries, expiries
    manager.resume() -> list[str]                     at start: continue the runs a crash interrupted
    manager.drain(timeout) -> bool; manager.close()   wait for running playbooks; shut down

What happens to a decision (after `Guard.admit`, recorded on the timeline):
- refused (cooldown, protected namespace): nothing runs; a *new* incident (the problem came back while the
  last fix is cooling down) is notified, and called when the severity routes a phone.
- notify-only (rule mode notify, maintenance window) or GitOps-owned (change request): notify only.
- mode auto: the playbook runs at once (journaled, in a worker thread), then people are notified of the
  outcome; a call only when it failed and its `on_failure` did not page already.
- mode approve, or a fingerprint flapping (closed `flap_limit` times within `flap_window`): an approval is
  requested, people are notified and the severity's phone is called. Inside the policy's night window,
  when nobody acknowledged within `ack_timeout` and `on_no_ack` is remediate, `tick` approves it as
  `tagent:night-mode` and the playbook runs. Outside the window it waits for a person.
An incident resolves when its run succeeds (the wait_healthy/verify step held), fails when a step failed
(its `on_failure` ran), and gets its post-mortem either way. Time comes from the injected `clock`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from tagent.actions import Registry
from tagent.errors import ValidationError
from tagent.escalation.due import call_due, close_quiet, idle, night_due, runs_to_continue
from tagent.escalation.flow import Escalation, call_text
from tagent.escalation.night import routes_for
from tagent.escalation.outbox import Outbox
from tagent.guard import DEFAULT_COOLDOWN_S, Guard, Verdict, VerdictMode
from tagent.llm import LLMClient, Redactor
from tagent.model import Decision, Event, Incident, IncidentStatus, Mode, StepStatus, WorkloadInfo, WorkloadRef, utcnow
from tagent.model.duration import format_duration
from tagent.model.policy import EscalationPolicySpec
from tagent.notify import mask_text
from tagent.playbooks import PlaybookRunner, RunOutcome, StepReport, rule_context
from tagent.playbooks.incidents import IncidentBook, mutated_ok
from tagent.policy import RuleSet
from tagent.store import ApprovalRecord, RunRecord, RunStatus, Store

log = logging.getLogger(__name__)
NIGHT_MODE = "tagent:night-mode"


@dataclass
class TickReport:
    night_remediations: int = 0
    notifications_retried: int = 0
    expired_approvals: int = 0
    quiet_resolved: int = 0


class IncidentManager:
    def __init__(self, store: Store, guard: Guard, registry: Registry, rules: Callable[[], RuleSet], *,
                 escalation: Escalation, clock: Callable[[], datetime] = utcnow, owner: str | None = None,
                 executor: Executor | None = None, secrets: Iterable[str] = (),
                 redact: Callable[[str], str] | None = None,
                 flap_window: float = 1800.0, flap_limit: int = 2, quiet_after: float = 1800.0,
                 stale_after: float = 60.0, workload: Callable[[WorkloadRef], WorkloadInfo | None] | None = None,
                 settle: float = 900.0, llm: LLMClient | None = None, call_grace: float = 0.0,
                 on_open: Callable[[Incident, Decision], None] | None = None) -> None:
        self.store, self.guard, self.rules, self.escalation, self.clock = store, guard, rules, escalation, clock
        known = tuple(secrets)
        self.book = IncidentBook(store, redact=redact or Redactor(known), mask=lambda text: mask_text(text, known),
                                 flap_window=flap_window, llm=llm)
        self.flap_limit, self.quiet_after = flap_limit, quiet_after
        self.settle = settle  # seconds after another rule's incident on a workload during which it absorbs decisions
        self.call_grace = call_grace  # seconds a question waits before the phone rings (an automatic fix may come)
        self.on_open = on_open  # told of each new incident after Tagent reacted (e.g. draft a missing playbook)
        self.runner = PlaybookRunner(store, registry, clock=clock, owner=owner, stale_after=stale_after,
                                     on_step=self._on_step)
        self._workload = workload or store.inventory.get
        self._own_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(4, thread_name_prefix="playbook")
        self._futures: set[Future[None]] = set()
        self._inflight: set[str] = set()  # run ids queued or running in this engine
        self._sends = Outbox()  # the manager's lock; notifications and calls go out once it is released
        self._lock = self._sends.lock

    # -- decisions ------------------------------------------------------------------------------------
    def handle(self, decision: Decision, events: Iterable[Event] = ()) -> Incident:
        events = list(events)
        now, ruleset = self.clock(), self.rules()
        rule = ruleset.rules.get(decision.rule)
        with self._sends.locked():
            related = self.book.related(decision, now, self.settle)
            if related is not None and self._superseded(related, decision, now):
                related = None
            if related is not None:
                self.book.join(related, decision, events, now)
                return self._get(related.id)
            incident, created, flaps = self.book.open(decision, now)
            self.book.add_events(incident, events)
            self.book.add_decision(incident.id, decision, now)
            cooldown = rule.spec.cooldown if rule is not None else DEFAULT_COOLDOWN_S
            verdict = self.guard.admit(decision, self._workload(decision.target), cooldown=cooldown)
            self.book.add(incident.id, "guard", f"guard: {verdict.mode.value} ({verdict.reason.value})"
                          + (f": {verdict.detail}" if verdict.detail else ""), now, allowed=verdict.allowed,
                          mode=verdict.mode.value, reason=verdict.reason.value, detail=verdict.detail)
            if created:
                if flaps >= self.flap_limit:
                    self.book.add(incident.id, "note", f"flapping: {decision.rule} on {decision.target} came back "
                                  f"{flaps} times within {format_duration(self.book.flap_window)}; escalating "
                                  "to a person", now, flaps=flaps)
                self._react(incident.id, decision, events, verdict, ruleset, flapping=flaps >= self.flap_limit)
            elif verdict.may_mutate and idle(self.store, incident.id):
                self.book.add(incident.id, "note", f"the cooldown is over and {decision.rule} still matches: acting "
                              "again", now)
                self._react(incident.id, decision, events, verdict, ruleset, flapping=False)
        opened = self._get(incident.id)
        if created and self.on_open is not None:
            self.on_open(opened, decision)
        return opened

    def _superseded(self, related: Incident, decision: Decision, now: datetime) -> bool:
        """An automatic rule matched a workload whose other incident only waits for approval: withdraw that
        question and let the automatic rule act (a bad deploy's 500s must not hold back its rollback)."""
        if decision.mode != Mode.auto or related.status != IncidentStatus.awaiting_ack:
            return False
        if self.store.approvals.pending(incident_id=related.id):
            self._decide(related.id, "tagent", approve=False, reason=f"superseded: {decision.rule} acts automatically")
        self.book.close(related.id, IncidentStatus.resolved, now, f"superseded by the automatic rule {decision.rule}")
        return True

    def _react(self, incident_id: str, decision: Decision, events: list[Event], verdict: Verdict, ruleset: RuleSet,
               *, flapping: bool) -> None:
        now, policy = self.clock(), self._policy(ruleset)
        incident = self._get(incident_id)
        playbook = ruleset.playbooks.get(decision.playbook) if decision.playbook else None
        if not verdict.allowed:
            nothing = f"nothing: {verdict.detail}"
            self._sends.later(lambda: self.escalation.notify(incident, policy, at=now, did=nothing))
            if flapping or decision.mode == Mode.approve:
                text = call_text(incident, "keeps coming back")
                self._sends.later(lambda: self.escalation.call(incident, policy, text, at=now))
            return
        if verdict.mode in (VerdictMode.notify_only, VerdictMode.change_request) or playbook is None:
            did = verdict.detail or "nothing: this rule only notifies"
            self._sends.later(lambda: self.escalation.notify(incident, policy, at=now, did=did))
            return
        if decision.mode == Mode.approve or flapping:
            self._ask(incident, decision, events, policy)
            return
        self._start(incident_id, decision, events, ruleset, dry_run=verdict.mode == VerdictMode.dry_run)
        started = self._get(incident_id)
        did = f"started playbook {decision.playbook}"
        self._sends.later(lambda: self.escalation.notify(started, policy, at=now, did=did))

    def _ask(self, incident: Incident, decision: Decision, events: list[Event], policy: EscalationPolicySpec) -> None:
        now = self.clock()
        approval, _token = self.store.approvals.request(
            at=now, kind="incident", incident_id=incident.id, action=f"playbook:{decision.playbook}",
            target_key=decision.target.key, summary=f"Run playbook {decision.playbook} on {decision.target}?",
            payload={"decision": decision.model_dump(mode="json"),
                     "events": [e.model_dump(mode="json") for e in events[:20]]})
        self.book.add(incident.id, "approval", f"approval requested: run playbook {decision.playbook}", now,
                      approval_id=approval.id, playbook=decision.playbook)
        incident = self.book.status(incident.id, IncidentStatus.awaiting_ack, now,
                                    "waiting for a person to acknowledge or approve") or incident
        night = "" if policy.on_no_ack != "remediate" or policy.night is None else (
            f"; at night Tagent does it itself if nobody acknowledges within {format_duration(policy.ack_timeout)}")
        asked = incident
        proposes = f"run playbook {decision.playbook}: approve it in the dashboard or press 2 on the call{night}"
        self._sends.later(lambda: self.escalation.notify(asked, policy, at=now, proposes=proposes))
        if self.call_grace <= 0:
            self._call_for_approval(incident, policy, decision.playbook, now)

    def _call_for_approval(self, incident: Incident, policy: EscalationPolicySpec, playbook: str | None,
                           now: datetime) -> None:
        text = call_text(incident, f"Tagent proposes to run playbook {playbook}")
        self._sends.later(lambda: self.escalation.call(incident, policy, text, at=now))

    def _start(self, incident_id: str, decision: Decision, events: list[Event], ruleset: RuleSet, *,
               dry_run: bool = False) -> RunRecord | None:
        playbook = ruleset.playbooks.get(decision.playbook or "")
        if playbook is None:
            self.book.close(incident_id, IncidentStatus.failed, self.clock(),
                            f"failed: playbook {decision.playbook} is not in the active rules")
            return None
        policy, rule = self._policy(ruleset), ruleset.rules.get(decision.rule)
        routes, phones = routes_for(policy, decision.severity)
        ctx = rule_context(decision.rule, severity=decision.severity.value, mode=decision.mode.value,
                           playbook=decision.playbook, labels=dict(rule.metadata.labels) if rule else None,
                           description=rule.spec.description if rule else "")
        run = self.runner.create(playbook.spec, playbook=playbook.name, origin=decision, target=decision.target,
                                 event=events[0] if events else None, rule=ctx, params=decision.params,
                                 incident_id=incident_id, run_id=decision.id, routes=routes, phones=phones,
                                 ack_timeout=policy.ack_timeout, severity=decision.severity.value, dry_run=dry_run)
        self.book.add(incident_id, "note", f"playbook {playbook.name} started (run {run.id})", self.clock(),
                      run_id=run.id)
        self._submit(run.id)
        return run

    # -- people ---------------------------------------------------------------------------------------
    def acknowledge(self, incident_id: str, by: str) -> Incident:
        now = self.clock()
        with self._lock:
            incident = self.store.incidents.acknowledge(incident_id, by=by, at=now)
            if incident is None:
                raise ValidationError(f"no incident {incident_id}")
            if incident.status == IncidentStatus.awaiting_ack:
                self.book.status(incident_id, IncidentStatus.open, now, f"acknowledged by {by}: Tagent will not act "
                                 "on its own; approve to run the playbook")
        return self._get(incident_id)

    def approve(self, incident_id: str, by: str) -> Incident:
        return self._decide(incident_id, by, approve=True)

    def deny(self, incident_id: str, by: str, reason: str = "") -> Incident:
        return self._decide(incident_id, by, approve=False, reason=reason)

    def _decide(self, incident_id: str, by: str, *, approve: bool, reason: str = "") -> Incident:
        now = self.clock()
        with self._lock:
            incident = self._get(incident_id)
            pending = self.store.approvals.pending(incident_id=incident_id)
            if not pending:
                raise ValidationError(f"incident {incident_id} has nothing waiting for approval")
            if approve and incident.acknowledged_at is None:
                self.store.incidents.acknowledge(incident_id, by=by, at=now)
            for approval in pending:
                decided = self.store.approvals.decide_by_id(approval.id, approve=approve, by=by, at=now, reason=reason)
                if decided is not None:
                    self._decided(incident_id, decided, by, approve, reason)
        return self._get(incident_id)

    def _decided(self, incident_id: str, approval: ApprovalRecord, by: str, approve: bool, reason: str) -> None:
        now = self.clock()
        verb = "approved" if approve else "denied"
        self.book.add(incident_id, "approval", f"{verb} by {by}" + (f": {reason}" if reason else ""), now,
                      approval_id=approval.id, approved=approve, by=by)
        if approval.kind == "incident":
            if approve:
                decision = Decision.model_validate(approval.payload["decision"])
                events = [Event.model_validate(e) for e in approval.payload.get("events") or []]
                self._start(incident_id, decision, events, self.rules())
            else:
                self.book.status(incident_id, IncidentStatus.open, now, f"denied by {by}: Tagent will not act")
        elif approval.run_id:
            self._submit(approval.run_id)  # the parked step reads the decision and goes on (or fails)

    def resolve(self, incident_id: str, by: str, reason: str = "") -> Incident:
        closed = self.book.close(incident_id, IncidentStatus.resolved, self.clock(),
                                 f"resolved by {by}" + (f": {reason}" if reason else ""))
        if closed is None:
            raise ValidationError(f"no incident {incident_id}")
        return self._get(incident_id)

    # -- time -----------------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> TickReport:
        """Fire what is due at `now`: Night Mode remediation, notification retries, expired step approvals,
        and incidents that stayed quiet (no playbook, no new evidence) for `quiet_after` seconds."""
        now = now or self.clock()
        report = TickReport()
        ruleset = self.rules()
        policy = self._policy(ruleset)
        with self._sends.locked():
            for approval in self.store.approvals.pending():
                if approval.kind == "incident" and call_due(self.store, approval, now, self.call_grace):
                    incident = self._get(approval.incident_id or "")
                    self._call_for_approval(incident, policy, approval.action.partition(":")[2], now)
                if approval.kind == "incident" and night_due(self.store, approval, policy, now):
                    decided = self.store.approvals.decide_by_id(
                        approval.id, approve=True, by=NIGHT_MODE, at=now,
                        reason=f"nobody acknowledged within {format_duration(policy.ack_timeout)} at night")
                    if decided is not None and decided.incident_id:
                        self.book.add(decided.incident_id, "approval", "Night Mode: nobody acknowledged within "
                                      f"{format_duration(policy.ack_timeout)}; Tagent remediates", now,
                                      approval_id=decided.id, by=NIGHT_MODE)
                        decision = Decision.model_validate(decided.payload["decision"])
                        events = [Event.model_validate(e) for e in decided.payload.get("events") or []]
                        self._start(decided.incident_id, decision, events, ruleset)
                        report.night_remediations += 1
            report.expired_approvals = self.store.approvals.expire(now)
            for run_id in runs_to_continue(self.store, now, self.runner.stale_after):
                self._submit(run_id)
            report.quiet_resolved = close_quiet(self.store, self.book, now, self.quiet_after)
        report.notifications_retried = self.escalation.retry_due(now)
        return report

    # -- runs -----------------------------------------------------------------------------------------
    def resume(self) -> list[str]:
        """Submit every run a crash left unfinished (the journal says where each one stopped)."""
        runs = [r.id for r in self.store.runs.unfinished() if r.status == RunStatus.running]
        for run_id in runs:
            self._submit(run_id)
        return runs

    def _submit(self, run_id: str) -> None:
        """Queue a run unless this engine is already running it (a tick must never start a second copy)."""
        with self._lock:
            if run_id in self._inflight:
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
            self._after(self.runner.execute(run_id))
        except Exception:  # a worker thread must log, not swallow: the executor would hide it
            log.exception("playbook run %s crashed", run_id)
        finally:
            with self._lock:
                self._inflight.discard(run_id)

    def _after(self, outcome: RunOutcome) -> None:
        run = self.store.runs.get(outcome.run_id)
        if run is None or run.incident_id is None or not outcome.claimed:
            return
        now, policy, incident_id = self.clock(), self._policy(self.rules()), run.incident_id
        with self._sends.locked():
            if outcome.status == RunStatus.succeeded:
                check = outcome.verified
                summary = ("resolved: dry-run finished, nothing was changed" if run.dry_run else
                           f"resolved: {check.name} held ({check.result.detail})" if check else
                           f"resolved: playbook {run.playbook} succeeded")
                closed = self.book.close(incident_id, IncidentStatus.resolved, now, summary)
            elif outcome.status == RunStatus.failed:
                closed = self.book.close(incident_id, IncidentStatus.failed, now, f"failed: {outcome.detail}")
            elif outcome.status == RunStatus.awaiting_approval:
                closed = self.book.status(incident_id, IncidentStatus.awaiting_ack, now, outcome.detail)
            else:
                return
            if closed is None:
                return
            told = closed
            self._sends.later(lambda: self.escalation.notify(told, policy, at=now))
            paged = any(s.action == "notify.page" and s.result.status == StepStatus.ok for s in outcome.steps)
            if outcome.status != RunStatus.succeeded and not paged:
                self._sends.later(lambda: self.escalation.call(told, policy, call_text(told, outcome.detail), at=now))
            self._sends.later(lambda: self._rewrite_postmortem(incident_id, now))  # after those, with them in it

    def _rewrite_postmortem(self, incident_id: str, now: datetime) -> None:
        final = self._get(incident_id)
        if final.status in (IncidentStatus.resolved, IncidentStatus.failed):
            self.book.write_postmortem(final, now)

    def _on_step(self, run: RunRecord, report: StepReport) -> None:
        now = self.clock()
        with self._lock:
            self.book.add_step(report, now)
            if run.incident_id and mutated_ok(report) and not report.replayed:
                incident = self.store.incidents.get(run.incident_id, timeline=False)
                if incident is not None and incident.status in (IncidentStatus.open, IncidentStatus.awaiting_ack):
                    self.book.status(run.incident_id, IncidentStatus.mitigating, now,
                                     f"mitigating: {report.name} applied")

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until no playbook runs (runs submitted meanwhile are waited for too); False on timeout."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                with self._lock:
                    futures = set(self._futures)
                if not futures:
                    return True
                wait(futures, timeout=0.5)
            return False
        finally:
            timer.cancel()

    def close(self) -> None:
        self.runner.stop.set()
        if self._own_executor:
            self._executor.shutdown(wait=True, cancel_futures=True)

    # -- helpers --------------------------------------------------------------------------------------
    def _policy(self, ruleset: RuleSet) -> EscalationPolicySpec:
        policy = ruleset.default_policy()
        return policy.spec if policy is not None else EscalationPolicySpec()

    def _get(self, incident_id: str) -> Incident:
        incident = self.store.incidents.get(incident_id)
        if incident is None:
            raise ValidationError(f"no incident {incident_id}")
        return incident

