"""Typed records the store returns for tables that have no core model in `tagent.model`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tagent.model import Decision, StepResult, WorkloadRef


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleVersionStatus(StrEnum):
    active = "active"
    rejected = "rejected"


class RuleVersionRecord(_Record):
    sha: str
    status: RuleVersionStatus
    author: str = ""
    message: str = ""
    source: str = ""
    problems: list[str] = Field(default_factory=list)
    at: datetime


class NewVerdict(_Record):
    """A verdict to record (the guard fills it in; the store assigns the id)."""

    decision_id: str | None
    actor: str
    rule: str
    rules_version: str
    target_key: str
    namespace: str
    action: str | None  # None: a decision-level verdict
    cluster: str = ""  # "": the home cluster
    allowed: bool
    reason: str
    detail: str
    mode: str
    at: datetime


class VerdictRecord(NewVerdict):
    id: int


class DecisionRecord(_Record):
    """A decision and the guard's decision-level verdict on it (None if it was never judged)."""

    decision: Decision
    verdict: VerdictRecord | None


class RunStatus(StrEnum):
    running = "running"
    awaiting_approval = "awaiting_approval"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class RunRecord(_Record):
    id: str
    playbook: str
    target: WorkloadRef
    incident_id: str | None = None
    decision_id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    rules_version: str = ""
    status: RunStatus = RunStatus.running
    dry_run: bool = False
    detail: str = ""
    owner: str | None = None
    heartbeat_at: datetime | None = None
    term: int = 0  # the leader's term that owns the run (docs/ha.md)
    started_at: datetime
    finished_at: datetime | None = None


class JournalEntry(_Record):
    run_id: str
    section: str
    index: int
    name: str
    action: str
    mutates: bool
    phase: str  # start | finish
    attempt: int
    term: int = 0  # the leader's term that wrote it (docs/ha.md)
    result: StepResult | None  # only on finish rows
    at: datetime


class StepClaim(_Record):
    """What `Runs.start_step` found: go ahead (attempt N), or the step already finished with `result`."""

    finished: bool
    attempt: int
    result: StepResult | None = None


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    expired = "expired"


class ApprovalRecord(_Record):
    id: str
    kind: str
    run_id: str | None
    incident_id: str | None
    action: str
    target_key: str
    summary: str
    payload: dict[str, Any]
    requested_by: str
    status: ApprovalStatus
    requested_at: datetime
    expires_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str


class NotificationStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class NotificationRecord(_Record):
    id: str
    incident_id: str | None
    channel: str
    subject: str
    body: str
    status: NotificationStatus
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None


class AuditRecord(_Record):
    id: int
    at: datetime
    actor: str
    action: str
    target_key: str
    namespace: str
    command: str
    result: str
    detail: str
    run_id: str | None
    incident_id: str | None
    dry_run: bool
    cluster: str = ""


class PostmortemRecord(_Record):
    incident_id: str
    title: str
    markdown: str
    author: str
    created_at: datetime
    updated_at: datetime


class SavingRecord(_Record):
    id: int
    target: WorkloadRef
    from_replicas: int
    to_replicas: int
    started_at: datetime
    ended_at: datetime | None
    reason: str
    run_id: str | None

    def replica_hours(self, now: datetime) -> float:
        """Replica-hours saved so far (up to `now` while the period is still open)."""
        end = self.ended_at or now
        hours = max(0.0, (end - self.started_at).total_seconds() / 3600.0)
        return max(0, self.from_replicas - self.to_replicas) * hours


class CooldownRecord(_Record):
    rule: str
    target_key: str
    until: datetime
    set_at: datetime
    decision_id: str | None


class CooldownAttempt(_Record):
    """The outcome of `Cooldowns.acquire`: whether this caller started the cooldown, and when it ends."""

    acquired: bool
    until: datetime


class ActionStatus(StrEnum):
    reserved = "reserved"
    done = "done"
    failed = "failed"
    released = "released"


class ActionRecord(_Record):
    id: str
    at: datetime
    actor: str
    rule: str
    action: str
    target_key: str
    namespace: str
    pods_affected: int
    status: ActionStatus
    finished_at: datetime | None
    run_id: str | None
    cluster: str = ""
