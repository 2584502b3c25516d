"""The guard: may this decision go ahead, and may this action mutate the cluster now?

Two gates, both recorded in the store with their reason and the rules SHA, allowed or refused:

- `admit(decision)`: once per decision. Protected/excluded namespaces, the cooldown per rule and target
  (atomic in the store, so one decision per workload per cooldown across restarts and replicas), then the
  mode: notify-only (rule mode `notify`, maintenance window), dry-run, change request (GitOps-owned), or act.
- `check_action(origin, action, ...)`: before every action. Non-mutating actions pass. Mutating ones are
  checked for protected namespaces, GitOps ownership, maintenance windows (automatic origins only), dry-run,
  and the ledger limits (rate limits, blast radius, rollback loop, restart backoff) under one lock; an allowed
  mutation is reserved in the ledger and its outcome reported with `record_action`, which also writes the
  audit log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tagent.guard.gitops import gitops_owner
from tagent.guard.limits import ActionRequest, admission_refusal, first_refusal
from tagent.guard.verdict import Reason, Verdict, VerdictMode
from tagent.guard.windows import MaintenanceWindow, parse_windows
from tagent.model import Decision, Mode, StepResult, StepStatus, WorkloadInfo, WorkloadRef, utcnow
from tagent.settings import Settings
from tagent.store import ActionStatus, NewVerdict, Store, Unit

Clock = Callable[[], datetime]
DEFAULT_COOLDOWN_S = 600.0
COOLDOWN_CACHE_SIZE = 100_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    """One decision to judge, with what the guard needs to know about it."""

    decision: Decision
    workload: WorkloadInfo | None = None
    cooldown: float = DEFAULT_COOLDOWN_S  # the rule's cooldown, seconds


class Guard:
    def __init__(self, store: Store, settings: Settings, clock: Clock = utcnow) -> None:
        """Raises ConfigError when a maintenance window in the settings cannot be parsed."""
        self._store = store
        self._settings = settings
        self._clock = clock
        self._windows = parse_windows(settings.maintenance_windows)
        self._lock = threading.Lock()
        self._cooling: dict[tuple[str, str], datetime] = {}  # (rule, target key) -> cooldown end seen

    # ------------------------------------------------------------------ decision level

    def admit(self, decision: Decision, workload: WorkloadInfo | None = None, *,
              cooldown: float = DEFAULT_COOLDOWN_S) -> Verdict:
        """Judge a decision (and start its cooldown when it passes). `cooldown` is the rule's, in seconds."""
        return self.admit_many([Admission(decision, workload, cooldown)])[0]

    def admit_many(self, admissions: Sequence[Admission]) -> list[Verdict]:
        """Judge a batch of decisions in order (as `admit` would, one after the other) and record all the
        verdicts in one transaction: what an event storm needs."""
        now = self._now()
        verdicts = [self._judge(a, now) for a in admissions]
        return self._record_many(verdicts, [a.decision for a in admissions])

    def judge_in(self, unit: Unit, decision: Decision, *, cooldown: float = DEFAULT_COOLDOWN_S,
                 workload: Callable[[], WorkloadInfo | None] = lambda: None) -> Verdict:
        """Judge a decision inside a lifecycle transaction (tagent.incidents): the cooldown is taken and the
        verdict recorded in `unit`, so they commit, or vanish, with the incident and run they lead to. A decision
        that would act but meets a rate limit is refused as such and takes no cooldown (it is retried).
        Cheapest first: a cooldown seen running needs no query, and `workload` is looked up only when needed."""
        now, d = self._now(), decision
        base = {"target": d.target, "actor": f"rule:{d.rule}", "rule": d.rule, "rules_version": d.rules_version,
                "decision_id": d.id, "at": now}
        refusal = self._namespace_refusal(d.target) or self._cooling_seen(d, now)
        mode, reason, detail = VerdictMode.refused, Reason.ok, ""
        if refusal is None:
            mode, reason, detail = self._decision_mode(d, workload() if d.mode != Mode.notify else None, now)
            if mode == VerdictMode.act:
                ledger = unit.ledger_snapshot(now, self._settings.blast_radius_window)
                refusal = admission_refusal(ledger, self._settings, d.target)
        if refusal is None:
            refusal = self._cooldown_in(unit, d, cooldown, now)
            if refusal is None and mode == VerdictMode.act:
                unit.ledger_snapshot(now, self._settings.blast_radius_window).add(d.target.namespace, d.target.key,
                                                                                  cluster=d.target.cluster)
        verdict = (Verdict(allowed=False, mode=VerdictMode.refused, reason=refusal[0], detail=refusal[1], **base)
                   if refusal is not None else Verdict(allowed=True, mode=mode, reason=reason, detail=detail, **base))
        unit.record(d, _row(verdict))
        if not verdict.allowed and verdict.reason != Reason.cooldown:
            log.info("guard refused %s on %s: %s (%s)", d.rule, d.target, verdict.reason.value, verdict.detail)
        return verdict

    def _cooling_seen(self, d: Decision, now: datetime) -> tuple[Reason, str] | None:
        with self._lock:
            until = self._cooling.get((d.rule, d.target.key))
        return None if until is None or until <= now else _cooling(d, until, now)

    def _cooldown_in(self, unit: Unit, d: Decision, seconds: float, now: datetime) -> tuple[Reason, str] | None:
        key = (d.rule, d.target.key)
        attempt = unit.acquire_cooldown(d.rule, d.target.key, now=now, seconds=seconds, decision_id=d.id)
        unit.after_commit.append(lambda: self._remember(key, attempt.until, now))
        return None if attempt.acquired else _cooling(d, attempt.until, now)

    def _remember(self, key: tuple[str, str], until: datetime, now: datetime) -> None:
        """Cache a cooldown seen in the store (only once its transaction committed)."""
        with self._lock:
            if len(self._cooling) >= COOLDOWN_CACHE_SIZE:
                self._cooling = {k: v for k, v in self._cooling.items() if v > now}
            self._cooling[key] = until

    def _judge(self, admission: Admission, now: datetime) -> Verdict:
        decision = admission.decision
        base = {"target": decision.target, "actor": f"rule:{decision.rule}", "rule": decision.rule,
                "rules_version": decision.rules_version, "decision_id": decision.id, "at": now}
        refusal = self._namespace_refusal(decision.target) or self._cooldown_refusal(admission, now)
        if refusal is not None:
            return Verdict(allowed=False, mode=VerdictMode.refused, reason=refusal[0], detail=refusal[1], **base)
        mode, reason, detail = self._decision_mode(decision, admission.workload, now)
        return Verdict(allowed=True, mode=mode, reason=reason, detail=detail, **base)

    def _cooldown_refusal(self, admission: Admission, now: datetime) -> tuple[Reason, str] | None:
        """Start the cooldown, or say until when it runs. A cooldown seen running is remembered locally: it can
        only end at its `until` (no replica shortens one), so a storm costs one store round trip per target."""
        d = admission.decision
        key = (d.rule, d.target.key)
        with self._lock:
            until = self._cooling.get(key)
        if until is None or until <= now:
            attempt = self._store.cooldowns.acquire(d.rule, d.target.key, now=now, seconds=admission.cooldown,
                                                    decision_id=d.id)
            with self._lock:
                if len(self._cooling) >= COOLDOWN_CACHE_SIZE:
                    self._cooling = {k: v for k, v in self._cooling.items() if v > now}
                self._cooling[key] = attempt.until
            if attempt.acquired:
                return None
            until = attempt.until
        return Reason.cooldown, (f"rule {d.rule} already acted on {d.target} recently; cooldown ends at "
                                 f"{until.isoformat()} (in {(until - now).total_seconds():.0f}s)")

    def clear_cooldown(self, rule: str, target: WorkloadRef) -> bool:
        """End a cooldown early (an operator's decision), here and in the store."""
        with self._lock:
            self._cooling.pop((rule, target.key), None)
        return self._store.cooldowns.clear(rule, target.key)

    def _decision_mode(self, decision: Decision, workload: WorkloadInfo | None,
                       now: datetime) -> tuple[VerdictMode, Reason, str]:
        if decision.mode == Mode.notify:
            return VerdictMode.notify_only, Reason.notify_mode, f"rule {decision.rule} only notifies"
        window = self.maintenance_window(now)
        if window is not None:
            return (VerdictMode.notify_only, Reason.maintenance_window,
                    f"inside maintenance window {window.text!r}: no automatic mutation, notify only")
        if self._settings.dry_run:
            return VerdictMode.dry_run, Reason.dry_run, "dry-run: decide and record, mutate nothing"
        owner = gitops_owner(workload)
        if owner is not None:
            return (VerdictMode.change_request, Reason.gitops_owned,
                    f"{decision.target} is managed by {owner}: notify and open a change request, do not patch")
        return VerdictMode.act, Reason.ok, ""

    # ------------------------------------------------------------------ action level

    def check_action(self, origin: Decision | str, action: str, *, mutates: bool, target: WorkloadRef,
                     workload: WorkloadInfo | None = None, pods_affected: int = 1, pods_total: int | None = None,
                     run_id: str | None = None, automatic: bool | None = None) -> Verdict:
        """Judge one action before it runs. `origin` is the decision that led to it, or an actor string for
        people (`chat:alice`, `api:bob`). `automatic` defaults to True for decisions and False for people;
        maintenance windows only stop automatic mutations. `pods_total` defaults to the workload's replicas.
        An allowed real mutation is reserved in the ledger: call `record_action` with its outcome."""
        now = self._now()
        if isinstance(origin, Decision):
            actor, rule, sha, decision_id = f"rule:{origin.rule}", origin.rule, origin.rules_version, origin.id
            automatic = True if automatic is None else automatic
        else:
            actor, rule, decision_id = origin, "", None
            active = self._store.rules.active()
            sha = active.sha if active else ""
            automatic = False if automatic is None else automatic
        if pods_total is None and workload is not None:
            pods_total = workload.replicas
        base = {"target": target, "actor": actor, "rule": rule, "rules_version": sha, "action": action,
                "decision_id": decision_id, "run_id": run_id, "at": now}

        decision = origin if isinstance(origin, Decision) else None
        if not mutates:
            return self._record(Verdict(allowed=True, mode=VerdictMode.act, reason=Reason.not_mutating, **base),
                                decision)
        refusal = self._namespace_refusal(target)
        mode = VerdictMode.refused
        if refusal is None and (owner := gitops_owner(workload)) is not None:
            refusal = (Reason.gitops_owned, f"{target} is managed by {owner}: open a change request instead")
            mode = VerdictMode.change_request
        if refusal is None and automatic and (window := self.maintenance_window(now)) is not None:
            refusal = (Reason.maintenance_window, f"inside maintenance window {window.text!r}: no automatic mutation")
        if refusal is not None:
            return self._record(Verdict(allowed=False, mode=mode, reason=refusal[0], detail=refusal[1], **base),
                                decision)

        request = ActionRequest(action=action, target=target, pods_affected=max(0, pods_affected),
                                pods_total=pods_total)
        dry_run = self._settings.dry_run
        with self._store.actions.locked() as ledger:
            refusal = first_refusal(ledger, self._settings, request, now)
            action_id = None
            if refusal is None and not dry_run:
                action_id = ledger.reserve(at=now, actor=actor, rule=rule, action=action, target_key=target.key,
                                           namespace=target.namespace, pods_affected=request.pods_affected,
                                           run_id=run_id, cluster=target.cluster)
        if refusal is not None:
            verdict = Verdict(allowed=False, mode=VerdictMode.refused, reason=refusal[0], detail=refusal[1], **base)
        elif dry_run:
            verdict = Verdict(allowed=True, mode=VerdictMode.dry_run, reason=Reason.dry_run,
                              detail="dry-run: every limit passed; nothing will be mutated", **base)
        else:
            verdict = Verdict(allowed=True, mode=VerdictMode.act, reason=Reason.ok, action_id=action_id, **base)
        return self._record(verdict, decision)

    def record_action(self, verdict: Verdict, result: StepResult, *, mutated: bool = True,
                      incident_id: str | None = None) -> None:
        """Report what an allowed action did: closes its ledger reservation (released when `mutated` is False,
        so a failed attempt that changed nothing does not count against the limits) and writes the audit log."""
        if not verdict.allowed or verdict.action is None:
            raise ValueError("record_action takes the allowed action-level verdict the action ran under")
        now = self._now()
        if verdict.action_id is not None:
            status = ActionStatus.released if not mutated else (
                ActionStatus.done if result.status == StepStatus.ok else ActionStatus.failed)
            self._store.actions.finish(verdict.action_id, status, at=now)
        if verdict.reason == Reason.not_mutating:
            return  # the audit log is for mutations
        self._store.audit.add(at=now, actor=verdict.actor, action=verdict.action, target_key=verdict.target.key,
                              namespace=verdict.target.namespace, command=result.command,
                              result=result.status.value, detail=result.detail, run_id=verdict.run_id,
                              incident_id=incident_id, dry_run=verdict.mode == VerdictMode.dry_run,
                              cluster=verdict.target.cluster)

    # ------------------------------------------------------------------ helpers

    def maintenance_window(self, at: datetime | None = None) -> MaintenanceWindow | None:
        """The maintenance window `at` (default: now) falls in, if any."""
        when = at or self._now()
        return next((w for w in self._windows if w.contains(when)), None)

    def _namespace_refusal(self, target: WorkloadRef) -> tuple[Reason, str] | None:
        ns = target.namespace
        if ns and ns in self._settings.protected_namespaces:
            return Reason.protected_namespace, f"namespace {ns} is protected: automation never touches it"
        if ns and ns in self._settings.excluded_namespaces:
            return Reason.excluded_namespace, f"namespace {ns} is excluded from Tagent"
        return None

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the guard's clock must return timezone-aware datetimes")
        return now

    def _record(self, verdict: Verdict, decision: Decision | None = None) -> Verdict:
        return self._record_many([verdict], [decision])[0]

    def _record_many(self, verdicts: Sequence[Verdict], decisions: Sequence[Decision | None]) -> list[Verdict]:
        rows = [(d, _row(v)) for v, d in zip(verdicts, decisions, strict=True)]
        stored = self._store.decisions.record_many(rows)
        for v in verdicts:
            if not v.allowed and v.reason != Reason.cooldown:  # cooldown refusals are routine, not news
                log.info("guard refused %s on %s: %s (%s)", v.action or v.rule, v.target, v.reason.value, v.detail)
        return [v.model_copy(update={"verdict_id": rec.id}) for v, rec in zip(verdicts, stored, strict=True)]


def _cooling(d: Decision, until: datetime, now: datetime) -> tuple[Reason, str]:
    return Reason.cooldown, (f"rule {d.rule} already acted on {d.target} recently; cooldown ends at "
                             f"{until.isoformat()} (in {(until - now).total_seconds():.0f}s)")


def _row(v: Verdict) -> NewVerdict:
    return NewVerdict(decision_id=v.decision_id, actor=v.actor, rule=v.rule, rules_version=v.rules_version,
                      target_key=v.target.key, namespace=v.target.namespace, cluster=v.target.cluster,
                      action=v.action, allowed=v.allowed,
                      reason=v.reason.value, detail=v.detail, mode=v.mode.value, at=v.at)
