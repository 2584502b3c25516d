"""When a pending approval question is due for a phone call, and when Night Mode may answer it itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from tagent.escalation.night import in_night
from tagent.model import IncidentStatus
from tagent.model.duration import format_duration
from tagent.model.policy import EscalationPolicySpec
from tagent.playbooks.incidents import IncidentBook
from tagent.store import ApprovalRecord, RunStatus, Store


def call_due(store: Store, approval: ApprovalRecord, now: datetime, grace: float) -> bool:
    """Nobody acknowledged the question after `grace` seconds and no call was placed yet (grace 0: the call
    went out when the question was asked)."""
    if grace <= 0 or approval.incident_id is None or now - approval.requested_at < timedelta(seconds=grace):
        return False
    incident = store.incidents.get(approval.incident_id)
    return incident is not None and incident.acknowledged_at is None and not any(
        e.kind == "call" for e in incident.timeline)


def night_due(store: Store, approval: ApprovalRecord, policy: EscalationPolicySpec, now: datetime) -> bool:
    """Inside the night window, nobody acknowledged within `ack_timeout`, and the policy says remediate."""
    if policy.on_no_ack != "remediate" or not in_night(policy.night, now) or approval.incident_id is None:
        return False
    if now - approval.requested_at < timedelta(seconds=policy.ack_timeout):
        return False
    incident = store.incidents.get(approval.incident_id, timeline=False)
    return incident is not None and incident.acknowledged_at is None


def runs_to_continue(store: Store, now: datetime, stale_after: float) -> list[str]:
    """Runs to (re)submit: those whose step approval was answered, and those still `running` whose owner
    stopped beating (an engine that died, or restarted within `stale_after` so `resume` could not claim)."""
    answered = [r.id for r in store.runs.list(status=RunStatus.awaiting_approval)
                if not store.approvals.pending(run_id=r.id)]
    stale = now - timedelta(seconds=stale_after)
    orphaned = [r.id for r in store.runs.list(status=RunStatus.running)
                if r.heartbeat_at is None or r.heartbeat_at < stale]
    return answered + orphaned


def idle(store: Store, incident_id: str) -> bool:
    """No playbook run in progress or waiting for approval on this incident."""
    busy = (RunStatus.running, RunStatus.awaiting_approval)
    return not store.approvals.pending(incident_id=incident_id) and not any(
        run.status in busy for run in store.runs.list(incident_id=incident_id))


def close_quiet(store: Store, book: IncidentBook, now: datetime, quiet_after: float) -> int:
    """Resolve open incidents with nothing running and no new evidence for `quiet_after` seconds: the
    condition cleared by itself. Returns how many were closed."""
    closed = 0
    for incident in store.incidents.list(status=IncidentStatus.open, limit=500):
        full = store.incidents.get(incident.id)
        if full is None or not idle(store, incident.id):
            continue
        last = max((e.at for e in full.timeline), default=full.opened_at)
        if (now - last).total_seconds() >= quiet_after:
            book.close(incident.id, IncidentStatus.resolved, now, "resolved: the condition cleared (no new "
                       f"evidence for {format_duration(quiet_after)})")
            closed += 1
    return closed
