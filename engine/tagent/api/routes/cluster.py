"""Overview, inventory, nodes and one workload's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, status

from tagent.api.clusters import ClusterQuery, cluster_filter, clusters_view
from tagent.api.deps import EngineDep
from tagent.api.views import cluster as views
from tagent.api.views.workload import workload_detail
from tagent.model import NodeInfo, WorkloadInfo

router = APIRouter(tags=["cluster"])


@router.get("/overview")
def overview(engine: EngineDep) -> dict[str, Any]:
    """Mode (day/night), nodes and workloads healthy, open incidents, today's actions, replica-hours saved."""
    return views.overview(engine)


@router.get("/clusters")
def clusters(engine: EngineDep) -> list[dict[str, Any]]:
    """The clusters this engine watches (the home one first) and whether each remote one answered last."""
    return clusters_view(engine)


@router.get("/inventory", response_model=list[WorkloadInfo])
def inventory(engine: EngineDep, namespace: str | None = None,
              cluster: str | None = ClusterQuery) -> list[WorkloadInfo]:
    """Auto-discovered workloads with their runtime (`ref.cluster` names a remote cluster's)."""
    return views.inventory(engine, namespace, cluster_filter(engine, cluster))


@router.get("/nodes", response_model=list[NodeInfo])
def nodes(engine: EngineDep) -> list[NodeInfo]:
    return engine.kube.list_nodes()


@router.get("/workloads/{namespace}/{name}")
def workload(engine: EngineDep, namespace: str, name: str,
             kind: str | None = Query(None, description="Deployment or StatefulSet (default: either)"),
             log_lines: int = Query(50, ge=1, le=1000), minutes: int = Query(30, ge=1, le=24 * 60)) -> dict[str, Any]:
    """A workload with its pods, events, recent logs and metric series."""
    found = views.find_workload(engine, namespace, name, kind)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no workload {namespace}/{name} in the inventory")
    return workload_detail(engine, found, log_lines=log_lines, minutes=minutes)
