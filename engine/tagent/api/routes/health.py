"""Liveness, readiness and the engine's own Prometheus metrics (no authentication: probes and scrapers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tagent.api.deps import EngineDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is not ready"}})
def readyz(engine: EngineDep) -> Any:
    """Ready when the store answers, the cluster answers and a rules version is active."""
    checks = engine.ready()
    ready = all(checks.values())
    body = {"ready": ready, "checks": checks}
    return body if ready else JSONResponse(body, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


@router.get("/api/v1/health")
def health(engine: EngineDep) -> dict[str, Any]:
    """Who leads (docs/ha.md): this replica's identity and role, the leader's identity, term and address, and
    whether this replica is serving (its API answers and its store is reachable). Every replica answers."""
    serving = engine.store.ping()
    if engine.leader is None:  # one engine, no election: it is the leader
        me = engine.settings.engine_identity()
        return {"status": "ok", "serving": serving, "election": False, "identity": me, "role": "leader",
                "leader": me, "term": 0, "leader_address": None}
    return {"status": "ok", "serving": serving, "election": True, **engine.leader.status(store=serving)}


@router.get("/metrics", response_class=Response)
def metrics(engine: EngineDep) -> Response:
    """Events, decisions, actions, match latency, open incidents and the sources' bad-input counters, in the
    Prometheus text format."""
    for source, stats in engine.source_stats().items():
        for what, n in stats.items():
            engine.metrics.source_problems.labels(source=source, what=what).set(n)
    return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)
