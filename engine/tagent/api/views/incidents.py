"""An incident as the dashboard shows it: the timeline, what Tagent did (playbook runs and their steps)
and what it proposes (a pending approval, with the steps that would run)."""

from __future__ import annotations

from typing import Any

from tagent.app.engine import Engine
from tagent.model import Incident
from tagent.store.records import ApprovalRecord, RunRecord


def _steps(engine: Engine, run: RunRecord) -> list[dict[str, Any]]:
    """One row per step: its latest journal state (a start without a finish is still running)."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in engine.store.runs.journal(run.id):
        row = rows.setdefault((entry.section, entry.index), {
            "section": entry.section, "index": entry.index, "name": entry.name, "action": entry.action,
            "mutates": entry.mutates, "status": "running", "detail": "", "command": "", "attempt": entry.attempt,
            "started_at": entry.at, "finished_at": None})
        if entry.phase == "finish" and entry.result is not None:
            row.update(status=entry.result.status.value, detail=entry.result.detail,
                       command=entry.result.command, finished_at=entry.result.finished_at, attempt=entry.attempt)
    return list(rows.values())


def _run(engine: Engine, run: RunRecord) -> dict[str, Any]:
    return {**run.model_dump(mode="json", exclude={"owner", "heartbeat_at"}), "steps": _steps(engine, run)}


def _playbook_steps(engine: Engine, name: str | None) -> list[dict[str, Any]]:
    book = engine.ruleset.playbooks.get(name) if name else None
    if book is None:
        return []
    return [{"name": s.name or f"step-{i + 1}", "action": s.action, "with": s.with_}
            for i, s in enumerate(book.spec.steps)]


def proposal(engine: Engine, incident_id: str, runs: list[RunRecord]) -> dict[str, Any] | None:
    """The oldest pending approval of the incident, with the playbook it would run; None when nothing waits."""
    pending: list[ApprovalRecord] = engine.store.approvals.pending(incident_id=incident_id)
    if not pending:
        return None
    first = pending[0]
    run = next((r for r in runs if r.id == first.run_id), None)
    decision = first.payload.get("decision")
    playbook = run.playbook if run is not None else (
        decision.get("playbook") if isinstance(decision, dict) else first.payload.get("playbook"))
    return {"approval_id": first.id, "kind": first.kind, "action": first.action, "target": first.target_key,
            "summary": first.summary, "requested_by": first.requested_by, "requested_at": first.requested_at,
            "expires_at": first.expires_at, "run_id": first.run_id, "playbook": playbook,
            "steps": _playbook_steps(engine, playbook if isinstance(playbook, str) else None),
            "pending": len(pending)}


def incident_detail(engine: Engine, incident: Incident) -> dict[str, Any]:
    runs = engine.store.runs.list(incident_id=incident.id)
    postmortem = engine.store.postmortems.get(incident.id)
    return {
        **incident.model_dump(mode="json"),
        "proposal": proposal(engine, incident.id, runs),
        "runs": [_run(engine, r) for r in runs],
        "notifications": [n.model_dump(mode="json", include={"channel", "subject", "status", "attempts",
                                                              "created_at", "sent_at", "last_error"})
                          for n in engine.store.notifications.list(incident_id=incident.id)],
        "has_postmortem": postmortem is not None,
    }
