"""What the guard answers: may this go ahead, how (mode), and why (a reason code plus a readable detail)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tagent.errors import GuardRefusal
from tagent.model import WorkloadRef


class VerdictMode(StrEnum):
    act = "act"  # go ahead and mutate
    dry_run = "dry_run"  # go through the motions, record, mutate nothing
    notify_only = "notify_only"  # tell people; no playbook mutation
    change_request = "change_request"  # GitOps-owned: notify and open a change request instead of a patch
    refused = "refused"  # nothing happens (the verdict is recorded)


class Reason(StrEnum):
    ok = "ok"
    not_mutating = "not_mutating"
    dry_run = "dry_run"
    notify_mode = "notify_mode"
    gitops_owned = "gitops_owned"
    maintenance_window = "maintenance_window"
    protected_namespace = "protected_namespace"
    excluded_namespace = "excluded_namespace"
    cooldown = "cooldown"
    rate_limit_global = "rate_limit_global"
    rate_limit_namespace = "rate_limit_namespace"
    blast_radius_pods = "blast_radius_pods"
    blast_radius_workloads = "blast_radius_workloads"
    rollback_loop = "rollback_loop"
    restart_backoff = "restart_backoff"


class Verdict(BaseModel):
    """One guard verdict, as recorded in the store.

    `action` is None for a decision-level verdict (`Guard.admit`). `action_id` is set when an allowed mutating
    action was reserved in the guard's ledger: report its outcome with `Guard.record_action`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    mode: VerdictMode
    reason: Reason
    detail: str = ""
    target: WorkloadRef
    actor: str
    rule: str = ""
    rules_version: str = ""
    action: str | None = None
    decision_id: str | None = None
    run_id: str | None = None
    action_id: str | None = None
    verdict_id: int | None = None
    at: datetime

    @property
    def may_mutate(self) -> bool:
        """True only when the caller may change the cluster now."""
        return self.allowed and self.mode == VerdictMode.act

    def raise_if_refused(self) -> Verdict:
        if not self.allowed:
            raise GuardRefusal(self.reason.value, self.detail)
        return self
