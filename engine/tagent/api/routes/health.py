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


@router.get("/metrics", response_class=Response)
def metrics(engine: EngineDep) -> Response:
    """Events, decisions, actions, match latency, open incidents and the sources' bad-input counters, in the
    Prometheus text format."""
    for source, stats in engine.source_stats().items():
        for what, n in stats.items():
            engine.metrics.source_problems.labels(source=source, what=what).set(n)
    return Response(generate_latest(engine.metrics.registry), media_type=CONTENT_TYPE_LATEST)
