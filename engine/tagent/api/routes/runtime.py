"""A service's runtime panels: what its runtime has beyond CPU and memory (JVM heap and GC, Node.js event-loop
lag, Go goroutines, Python GC), from Prometheus, or what is missing and how to get it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from tagent.api.deps import EngineDep
from tagent.api.views import cluster as views
from tagent.api.views.runtime import runtime_panels
from tagent.model import Runtime

router = APIRouter(tags=["cluster"])


@router.get("/services/{namespace}/{name}/runtime")
def runtime(engine: EngineDep, namespace: str, name: str,
            runtime: Runtime | None = Query(None, description="the runtime to show (default: the inventory's)"),
            minutes: int = Query(30, ge=1, le=24 * 60)) -> dict[str, Any]:
    """The runtime's panels with their series (unix seconds, value), or `missing` saying what to expose."""
    found = views.find_workload(engine, namespace, name)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workload {namespace}/{name} in the inventory")
    return runtime_panels(engine.prometheus, found.ref, (runtime or found.runtime).value, now=engine.clock(),
                          minutes=minutes)
