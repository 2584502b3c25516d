"""What happened, as recorded: decisions with the guard's verdicts, the audit log, events, savings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from tagent.api.clusters import ClusterQuery, cluster_filter
from tagent.api.deps import EngineDep
from tagent.model import Event

router = APIRouter(tags=["records"])
Limit = Query(100, ge=1, le=1000)


@router.get("/decisions")
def decisions(engine: EngineDep, limit: int = Limit, rule: str | None = None,
              cluster: str | None = ClusterQuery) -> list[dict[str, Any]]:
    """Newest first, each with the guard's decision-level verdict (null when never judged)."""
    out = []
    for record in engine.store.decisions.list(limit=limit, rule=rule, cluster=cluster_filter(engine, cluster)):
        d, v = record.decision, record.verdict
        out.append({"id": d.id, "at": d.decided_at, "rule": d.rule, "target": d.target.model_dump(),
                    "playbook": d.playbook, "mode": d.mode.value, "severity": d.severity.value,
                    "rules_version": d.rules_version, "allowed": v.allowed if v else None,
                    "reason": v.reason if v else None, "detail": v.detail if v else "",
                    "verdict_mode": v.mode if v else None})
    return out


@router.get("/verdicts")
def verdicts(engine: EngineDep, limit: int = Limit, allowed: bool | None = None) -> list[dict[str, Any]]:
    """Every guard verdict (decision- and action-level), newest first."""
    return [v.model_dump(mode="json") for v in engine.store.decisions.verdicts(limit=limit, allowed=allowed)]


@router.get("/audit")
def audit(engine: EngineDep, limit: int = Limit, cluster: str | None = ClusterQuery) -> list[dict[str, Any]]:
    """Every mutation (and dry-run mutation): who, what, on what (and in which cluster: "" is the home one),
    the kubectl equivalent, the result."""
    return [a.model_dump(mode="json")
            for a in engine.store.audit.list(limit=limit, cluster=cluster_filter(engine, cluster))]


@router.get("/events", response_model=list[Event])
def events(engine: EngineDep, limit: int = Limit, kind: str | None = None,
           cluster: str | None = ClusterQuery) -> list[Event]:
    """Recent stored events (metric samples are summarised by the sources and not stored)."""
    return engine.store.events.list(limit=limit, kind=kind, cluster=cluster_filter(engine, cluster))


@router.get("/savings")
def savings(engine: EngineDep, limit: int = Limit) -> dict[str, Any]:
    """Replica-hours saved by scale-downs (periods still open count up to now)."""
    now = engine.clock()
    entries = engine.store.savings.list(limit=limit)
    return {"replica_hours_saved": round(engine.store.savings.total_replica_hours(now), 3),
            "entries": [{"at": s.started_at, "ended_at": s.ended_at, "target": s.target.model_dump(),
                         "from": s.from_replicas, "to": s.to_replicas, "reason": s.reason,
                         "replica_hours": round(s.replica_hours(now), 3)} for s in entries]}
