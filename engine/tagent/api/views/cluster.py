"""Overview and inventory: what runs, what is healthy, and what Tagent did today.

The inventory comes from the store (kept current by the engine's inventory source); before the first
refresh has landed it is read live from the cluster, so a fresh engine never shows an empty cluster.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from tagent.app.engine import Engine
from tagent.errors import ExternalError
from tagent.escalation.night import in_night
from tagent.model import IncidentStatus, WorkloadInfo, WorkloadRef

OPEN_STATUSES = (IncidentStatus.open, IncidentStatus.mitigating, IncidentStatus.awaiting_ack)
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def inventory(engine: Engine, namespace: str | None = None, cluster: str | None = None) -> list[WorkloadInfo]:
    stored = engine.store.inventory.list(namespace=namespace, cluster=cluster)
    if stored or cluster:
        return stored
    return engine.kube.list_workloads(namespace)


def find_workload(engine: Engine, namespace: str, name: str, kind: str | None = None) -> WorkloadInfo | None:
    """The workload `namespace/name` (of `kind`, or any workload kind), stored or live."""
    for k in (kind,) if kind else WORKLOAD_KINDS:
        found = engine.store.inventory.get(WorkloadRef(kind=k, namespace=namespace, name=name))
        if found is not None:
            return found
    for w in engine.kube.list_workloads(namespace):
        if w.ref.name == name and (kind is None or w.ref.kind == kind):
            return w
    return None


def mode_now(engine: Engine, now: datetime) -> tuple[str, tzinfo]:
    """"night" inside the active escalation policy's night window, else "day"; and the policy's timezone."""
    policy = engine.ruleset.default_policy()
    night = policy.spec.night if policy is not None else None
    tz: tzinfo = ZoneInfo(night.timezone) if night is not None else UTC
    return ("night" if in_night(night, now) else "day"), tz


def open_incident_count(engine: Engine) -> int:
    return sum(len(engine.store.incidents.list(status=s, limit=10_000)) for s in OPEN_STATUSES)


def overview(engine: Engine) -> dict[str, Any]:
    now = engine.clock()
    mode, tz = mode_now(engine, now)
    problems: list[str] = []
    nodes: dict[str, int] | None = None
    try:
        found = engine.kube.list_nodes()
        nodes = {"total": len(found), "ready": sum(1 for n in found if n.ready)}
    except ExternalError as exc:
        problems.append(f"cluster unreachable: {exc}")
    workloads: list[WorkloadInfo] = []
    try:
        workloads = inventory(engine)
    except ExternalError as exc:
        problems.append(f"inventory unavailable: {exc}")
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    active = engine.rules.current()
    return {
        "mode": mode,
        "nodes": nodes,
        "workloads": {"total": len(workloads), "healthy": sum(1 for w in workloads if w.healthy),
                      "unhealthy": [w.ref.model_dump() for w in workloads if not w.healthy]},
        "open_incidents": open_incident_count(engine),
        "actions_today": len(engine.store.audit.list(since=midnight, limit=10_000)),
        "replica_hours_saved": round(engine.store.savings.total_replica_hours(now), 3),
        "rules_version": active.version.version if active is not None else None,
        "engine": {"started_at": engine.state.started_at, "events_seen": engine.state.events_seen,
                   "decisions": engine.state.decisions, "handler_errors": engine.state.handler_errors},
        "problems": problems,
        "at": now,
    }
