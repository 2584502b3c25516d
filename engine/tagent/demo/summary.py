"""The demo's JSON summary (shared/design/CLI.md): every incident with its times on both clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tagent.demo.script import Scene
from tagent.model import Incident


@dataclass
class Played:
    scene: Scene
    injected_at: datetime  # sandbox clock


def _after(start: datetime, at: datetime | None) -> float | None:
    return None if at is None else round(max(0.0, (at - start).total_seconds()), 1)


def incident_summary(incident: Incident, played: Played | None, speed: float) -> dict[str, Any]:
    """One incident; times are measured from the fault's injection (sandbox clock, then scaled to wall)."""
    steps = [e.data for e in incident.timeline if e.kind == "step"]
    start = played.injected_at if played else incident.opened_at
    detected = _after(start, incident.opened_at)
    resolved = _after(start, incident.resolved_at)
    return {
        "id": incident.id,
        "rule": incident.rule,
        "target": str(incident.target),
        "status": incident.status.value,
        "severity": incident.severity.value,
        "detected_after_s": None if detected is None else round(detected / speed, 2),
        "resolved_after_s": None if resolved is None else round(resolved / speed, 2),
        "sandbox_detected_after_s": detected,
        "sandbox_resolved_after_s": resolved,
        "actions": [{"step": s.get("step"), "action": s.get("action"), "status": s.get("status"),
                     "command": s.get("command", "")} for s in steps],
        "acknowledged": incident.acknowledged_at is not None,
        "superseded": any(e.kind == "status" and "superseded" in e.summary for e in incident.timeline),
        "closed_because": next((e.summary for e in reversed(incident.timeline) if e.kind == "status"), ""),
        "expected": None if played is None else {"rules": list(played.scene.rules), "action": played.scene.action},
        "as_expected": played is not None and incident.rule in played.scene.rules
        and incident.status.value == "resolved"
        and any(s.get("action") == played.scene.action and s.get("status") == "ok" for s in steps),
    }
