"""Incidents (list, detail, acknowledge, approve, deny, the traces of their window) and their post-mortems.

Acknowledge, approve and deny go through the incident lifecycle (`engine.incidents`, tagent.incidents): approving
runs the pending playbook through the guard. Without one (a read-only engine) an acknowledgement is still
recorded in the store; approving and denying need it and say so.
`draft-playbook` asks the LLM for a Rule + Playbook, proposed as a branch of the rules repository.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from tagent.api.clusters import ClusterQuery, cluster_filter
from tagent.api.deps import EngineDep
from tagent.api.identity import acting_user
from tagent.api.schemas import ByBody, DenyBody
from tagent.api.views.drafts import proposal_view
from tagent.api.views.incidents import incident_detail
from tagent.app.drafting import DraftsUnavailable
from tagent.app.engine import Engine
from tagent.debrief.traces import incident_traces
from tagent.errors import ValidationError
from tagent.incidents import IncidentService
from tagent.model import Incident, IncidentStatus, Severity

router = APIRouter(tags=["incidents"])


def _incident(engine: Engine, incident_id: str) -> Incident:
    found = engine.store.incidents.get(incident_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    return found


def _manager(engine: Engine, what: str) -> IncidentService:
    if engine.incidents is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"{what} needs the incident manager, and this engine runs without one")
    return engine.incidents


def _needs_proposal(engine: Engine, incident_id: str, what: str) -> None:
    if not engine.store.approvals.pending(incident_id=incident_id):
        raise HTTPException(status.HTTP_409_CONFLICT, f"incident {incident_id} has nothing waiting to {what}")


@router.get("/incidents", response_model=list[Incident])
def incidents(engine: EngineDep, status_: IncidentStatus | None = Query(None, alias="status"),
              severity: Severity | None = None, limit: int = Query(100, ge=1, le=1000),
              cluster: str | None = ClusterQuery) -> list[Incident]:
    """Newest first, without timelines; `target.cluster` names a remote cluster's."""
    return engine.store.incidents.list(status=status_, severity=severity, limit=limit,
                                       cluster=cluster_filter(engine, cluster))


@router.get("/incidents/{incident_id}")
def incident(engine: EngineDep, incident_id: str) -> dict[str, Any]:
    """The incident with its timeline, its playbook runs and steps, and the proposal awaiting approval."""
    return incident_detail(engine, _incident(engine, incident_id))


@router.get("/incidents/{incident_id}/traces")
def incident_traces_(engine: EngineDep, incident_id: str, limit: int = Query(20, ge=1, le=100)) -> dict[str, Any]:
    """The traces of the incident's service from 10 min before it opened until it resolved (or now), errors
    first: {service, since, until, traces}."""
    found = _incident(engine, incident_id)
    if engine.traces is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "this engine keeps no traces")
    return incident_traces(engine.traces, found, engine.clock(), limit=limit)


@router.post("/incidents/{incident_id}/ack")
def acknowledge(engine: EngineDep, incident_id: str, body: ByBody, request: Request) -> dict[str, Any]:
    """A person has it: escalation stops (and Night Mode does not act on its own)."""
    _incident(engine, incident_id)
    by = acting_user(request, body, "by")
    if engine.incidents is not None:
        engine.incidents.acknowledge(incident_id, by=by)
    else:
        engine.store.incidents.acknowledge(incident_id, by=by, at=engine.clock())
    return incident_detail(engine, _incident(engine, incident_id))


@router.post("/incidents/{incident_id}/approve")
def approve(engine: EngineDep, incident_id: str, body: ByBody, request: Request) -> dict[str, Any]:
    """Approve the pending playbook: it runs now, through the guard."""
    _incident(engine, incident_id)
    incidents = _manager(engine, "approving a playbook")
    _needs_proposal(engine, incident_id, "approve")
    incidents.approve(incident_id, by=acting_user(request, body, "by"))
    return incident_detail(engine, _incident(engine, incident_id))


@router.post("/incidents/{incident_id}/deny")
def deny(engine: EngineDep, incident_id: str, body: DenyBody, request: Request) -> dict[str, Any]:
    """Refuse the pending playbook; nothing runs."""
    _incident(engine, incident_id)
    incidents = _manager(engine, "denying a playbook")
    _needs_proposal(engine, incident_id, "deny")
    incidents.deny(incident_id, by=acting_user(request, body, "by"), reason=body.reason)
    return incident_detail(engine, _incident(engine, incident_id))


@router.post("/incidents/{incident_id}/draft-playbook")
def draft_playbook(engine: EngineDep, incident_id: str) -> dict[str, Any]:
    """The LLM drafts a Rule + Playbook, proposed as a branch of the rules repository (and a pull request).
    A plain `def`: FastAPI runs it in its thread pool, since it waits for the LLM and Git."""
    found = _incident(engine, incident_id)
    try:
        if engine.drafting is None:
            raise DraftsUnavailable("this engine runs without drafting")
        return proposal_view(engine.drafting.propose(found, by="draft requested through the API"))
    except DraftsUnavailable as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"drafting playbooks is not available: {exc}") from None
    except ValidationError as exc:  # the watched branch itself does not validate
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.get("/postmortems")
def postmortems(engine: EngineDep, q: str | None = Query(None, max_length=200),
                limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Newest first; `q` searches titles and text."""
    return [{"incident_id": p.incident_id, "title": p.title, "author": p.author, "created_at": p.created_at,
             "updated_at": p.updated_at} for p in engine.store.postmortems.search(q, limit=limit)]


@router.get("/postmortems/{incident_id}", response_model=None)
def postmortem(engine: EngineDep, incident_id: str,
               format_: str = Query("json", alias="format", pattern="^(json|md)$")) -> Any:
    """The post-mortem as JSON, or as a Markdown file with `?format=md`."""
    found = engine.store.postmortems.get(incident_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no post-mortem for incident {incident_id}")
    if format_ == "md":
        return Response(found.markdown, media_type="text/markdown; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="postmortem-{incident_id}.md"'})
    return found.model_dump(mode="json")
