"""A night of incidents in a real (migrated SQLite) store, at fixed times in Asia/Kolkata, for the debrief tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tagent.incidents import Postmortems
from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.store import Store
from tests.actions.harness import sqlite_copy

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 12, 2, 7, 30, tzinfo=IST)  # the morning after (the engine's clock in these tests)


def at(hour: int, minute: int, day: int = 2) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=IST)


def add(store: Store, name: str, rule: str, status: IncidentStatus, broke: datetime, action: str | None,
        *, reason: str = "CrashLoopBackOff", severity: Severity = Severity.critical, fixed_after_s: float = 180,
        night: bool = False) -> Incident:
    target = WorkloadRef(namespace="shop", name=name)
    opened = broke + timedelta(seconds=20)
    incident = Incident(fingerprint=f"{rule}/{target.key}", rule=rule, target=target, severity=severity,
                        rules_version="c0ffee1", opened_at=opened, timeline=[
                            TimelineEntry(at=broke, kind="event", summary=f"{reason} on {target}",
                                          data={"reason": reason, "message": f"{name}: {reason} (restarts 3)"})])
    store.incidents.open(incident)
    store.incidents.add_timeline(incident.id, TimelineEntry(
        at=opened, kind="decision", summary=f"rule {rule} matched", data={"rule": rule}))
    if night:
        store.incidents.add_timeline(incident.id, TimelineEntry(
            at=opened + timedelta(seconds=60), kind="approval",
            summary="Night Mode: nobody acknowledged within 5m; Tagent remediates"))
    if action:
        store.incidents.add_timeline(incident.id, TimelineEntry(
            at=opened + timedelta(seconds=90), kind="step", summary=f"{action}: ok",
            data={"action": action, "status": "ok", "step": "fix"}))
    closed = store.incidents.set_status(incident.id, status, at=broke + timedelta(seconds=fixed_after_s),
                                        summary=f"{status.value}: done")
    assert closed is not None
    Postmortems(store, mask=lambda text: text).write(closed, broke + timedelta(seconds=fixed_after_s))
    return closed


def night_store(path: Path) -> Store:
    """Four incidents last night (in order: payment-service, checkout, frontend open, cart yesterday noon)."""
    store = Store.open(sqlite_copy(path))
    add(store, "cart", "high-cpu-scale-up", IncidentStatus.resolved, at(12, 5, day=1), "kubernetes.scale",
        reason="cpu_utilization", severity=Severity.warning)
    add(store, "checkout", "bad-deploy-rollback", IncidentStatus.resolved, at(3, 40), "kubernetes.rollout_undo",
        reason="RolloutStarted", night=True, fixed_after_s=420)
    add(store, "payment-service", "crashloop-restart", IncidentStatus.resolved, at(2, 15),
        "kubernetes.rollout_restart")
    add(store, "frontend", "error-spike-rollback", IncidentStatus.awaiting_ack, at(4, 2), None, reason="error_rate")
    return store
