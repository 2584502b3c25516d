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
from collections.abc import Callable
from datetime import datetime

from tagent.guard.gitops import gitops_owner
from tagent.guard.limits import ActionRequest, first_refusal
from tagent.guard.verdict import Reason, Verdict, VerdictMode
from tagent.guard.windows import MaintenanceWindow, parse_windows
from tagent.model import Decision, Mode, StepResult, StepStatus, WorkloadInfo, WorkloadRef, utcnow
from tagent.settings import Settings
from tagent.store import ActionStatus, NewVerdict, Store

Clock = Callable[[], datetime]
DEFAULT_COOLDOWN_S = 600.0
log = logging.getLogger(__name__)


class Guard:
    def __init__(self, store: Store, settings: Settings, clock: Clock = utcnow) -> None:
        """Raises ConfigError when a maintenance window in the settings cannot be parsed."""
        self._store = store
        self._settings = settings
        self._clock = clock
        self._windows = parse_windows(settings.maintenance_windows)

    # ------------------------------------------------------------------ decision level

    def admit(self, decision: Decision, workload: WorkloadInfo | None = None, *,
              cooldown: float = DEFAULT_COOLDOWN_S) -> Verdict:
        """Judge a decision (and start its cooldown when it passes). `cooldown` is the rule's, in seconds."""
        now = self._now()
        base = {"target": decision.target, "actor": f"rule:{decision.rule}", "rule": decision.rule,
                "rules_version": decision.rules_version, "decision_id": decision.id, "at": now}
        refusal = self._namespace_refusal(decision.target)
        if refusal is None:
            attempt = self._store.cooldowns.acquire(decision.rule, decision.target.key, now=now, seconds=cooldown,
                                                    decision_id=decision.id)
            if not attempt.acquired:
                left = (attempt.until - now).total_seconds()
                refusal = (Reason.cooldown, f"rule {decision.rule} already acted on {decision.target} recently; "
                                            f"cooldown ends at {attempt.until.isoformat()} (in {left:.0f}s)")
        if refusal is not None:
            verdict = Verdict(allowed=False, mode=VerdictMode.refused, reason=refusal[0], detail=refusal[1], **base)
        else:
            mode, reason, detail = self._decision_mode(decision, workload, now)
            verdict = Verdict(allowed=True, mode=mode, reason=reason, detail=detail, **base)
        return self._record(verdict, decision)

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
                                           run_id=run_id)
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
                              incident_id=incident_id, dry_run=verdict.mode == VerdictMode.dry_run)

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
        row = NewVerdict(decision_id=verdict.decision_id, actor=verdict.actor, rule=verdict.rule,
                         rules_version=verdict.rules_version, target_key=verdict.target.key,
                         namespace=verdict.target.namespace, action=verdict.action, allowed=verdict.allowed,
                         reason=verdict.reason.value, detail=verdict.detail, mode=verdict.mode.value, at=verdict.at)
        if decision is not None:
            stored = self._store.decisions.record(decision, row)
        else:
            stored = self._store.decisions.add_verdict(row)
        if not verdict.allowed:
            log.info("guard refused %s on %s: %s (%s)", verdict.action or verdict.rule, verdict.target,
                     verdict.reason.value, verdict.detail)
        return verdict.model_copy(update={"verdict_id": stored.id if stored else None})
