"""When a pending approval question is due for a phone call, and when Night Mode may answer it itself."""

from __future__ import annotations

from datetime import datetime, timedelta

from tagent.escalation.night import in_night
from tagent.model.policy import EscalationPolicySpec
from tagent.store import ApprovalRecord, Store


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
