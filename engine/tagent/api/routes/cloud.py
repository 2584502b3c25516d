"""Cloud servers for the dashboard's Services page (issue 17): what the engine's cloud source saw last.

    GET /cloud/servers   {configured, regions, currency, servers: [...], groups: [...]}

Read from the cloud source's last round (`servers`, `groups`, `cpu`): no AWS call per request. With AWS off
(TAGENT_AWS_REGIONS empty) the answer is `configured: false` and empty lists, not an error.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from tagent.api.deps import EngineDep
from tagent.app.engine import Engine
from tagent.cloud.base import Server, ServerGroup
from tagent.sources.cloud import CloudSource

router = APIRouter(tags=["cloud"])


def cloud_source(engine: Engine) -> CloudSource | None:
    return next((s for s in engine.sources if isinstance(s, CloudSource)), None)


def _server(s: Server, cpu: dict[str, float], prices: dict[str, float]) -> dict[str, Any]:
    return {"id": s.id, "name": s.tags.get("Name", ""), "region": s.region, "state": s.state, "type": s.type,
            "group": s.group or None, "cpu_percent": round(cpu[s.id], 1) if s.id in cpu else None,
            "hourly_price": prices.get(s.type), "launched_at": s.launched_at.isoformat() if s.launched_at else None,
            "account": s.account or None, "tags": dict(s.tags)}


def _group(g: ServerGroup) -> dict[str, Any]:
    return {"name": g.name, "region": g.region, "desired": g.desired, "min": g.minimum, "max": g.maximum,
            "members": len(g.members), "at_max": g.at_max, "tags": dict(g.tags)}


@router.get("/cloud/servers")
def servers(engine: EngineDep) -> dict[str, Any]:
    """EC2 instances (with their recent CPU and hourly price) and Auto Scaling groups of the watched regions."""
    source = cloud_source(engine)
    if source is None:
        return {"configured": False, "regions": [], "currency": None, "servers": [], "groups": []}
    settings = source.settings
    cpu, listed, groups = dict(source.cpu), list(source.servers), list(source.groups)
    return {"configured": True, "regions": list(settings.regions), "currency": settings.currency,
            "servers": [_server(s, cpu, settings.prices) for s in sorted(listed, key=lambda s: (s.region, s.name))],
            "groups": [_group(g) for g in sorted(groups, key=lambda g: (g.region, g.name))]}
