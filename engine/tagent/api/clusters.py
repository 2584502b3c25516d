"""`?cluster=` on the list endpoints, and what GET /api/v1/clusters says (docs/architecture.md, Many clusters)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Query

from tagent.app.engine import Engine

ClusterQuery = Query(None, description="only this cluster's records (GET /api/v1/clusters names them); "
                                       "default: every cluster")


def cluster_filter(engine: Engine, cluster: str | None) -> str | None:
    """The records' value for a `?cluster=` name ("" for the home cluster), None when not given; 422 names
    the clusters when it is none of them."""
    if not cluster:
        return None
    ident = engine.clusters.ident(cluster)
    if ident is None:
        raise HTTPException(422,
                            f"unknown cluster {cluster[:100]!r}: one of {', '.join(engine.clusters.names())}")
    return ident


def clusters_view(engine: Engine) -> list[dict[str, Any]]:
    """Every cluster the engine watches, the home one first; `reachable` is the last probe of a remote one
    (None: not probed yet; the home cluster's health is /readyz)."""
    links = {getattr(s, "cluster", ""): s for s in engine.sources if s.name == "cluster"}
    out: list[dict[str, Any]] = []
    for name in engine.clusters.names():
        home = name == engine.clusters.home
        link = links.get(name)
        out.append({"name": name, "home": home, "reachable": None if home or link is None
                    else getattr(link, "reachable", None)})
    return out
