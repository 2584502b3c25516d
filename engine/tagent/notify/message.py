"""What a notification says: what happened, on what, what Tagent did or proposes, and where to look.

Written for a person woken at 2 AM reading a phone: the title is the whole story in one line, the body
adds the facts in a fixed order, and the last line is the link to the incident in the dashboard. Text
that came from the cluster (event summaries, step details) may hold secrets, so it passes `redact`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tagent.model.core import Incident, IncidentStatus, Severity, TimelineEntry

Redactor = Callable[[str], str]


class NotifyKind(StrEnum):
    """apprise's notification types (they pick the colour and icon on chat services)."""

    info = "info"
    success = "success"
    warning = "warning"
    failure = "failure"


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    incident_url: str
    kind: NotifyKind = NotifyKind.warning


def incident_link(dashboard_url: str, incident_id: str) -> str:
    """The dashboard page of one incident (the dashboard reads `?incident=<id>`)."""
    return f"{dashboard_url.rstrip('/')}/?incident={urllib.parse.quote(incident_id, safe='')}"


def kind_for(incident: Incident) -> NotifyKind:
    if incident.status == IncidentStatus.resolved:
        return NotifyKind.success
    return {Severity.critical: NotifyKind.failure, Severity.warning: NotifyKind.warning,
            Severity.info: NotifyKind.info}[incident.severity]


def _steps(entries: list[TimelineEntry], redact: Redactor) -> str:
    done = []
    for e in entries:
        if e.kind != "step":
            continue
        step, status = e.data.get("step") or e.data.get("action") or e.summary, e.data.get("status", "?")
        done.append(f"{redact(str(step))} ({status})")
    return ", ".join(done)


def build_message(incident: Incident, dashboard_url: str, *, did: str | None = None,
                  proposes: str | None = None, redact: Redactor = lambda s: s) -> Message:
    """The notification for an incident in its current state.

    `did` / `proposes` override what is read from the timeline (e.g. "will restart the deployment in
    5 min unless someone acknowledges"); without them the steps already run are listed.
    """
    timeline = sorted(incident.timeline, key=lambda e: e.at)
    events = [redact(e.summary) for e in timeline if e.kind == "event"][:3]
    happened = "; ".join(events) if events else f"rule {incident.rule} matched"
    link = incident_link(dashboard_url, incident.id)
    state = {IncidentStatus.resolved: "resolved", IncidentStatus.failed: "remediation failed",
             IncidentStatus.awaiting_ack: "waiting for a person"}.get(incident.status, incident.status.value)
    title = f"[{incident.severity.value.upper()}] {incident.rule} on {incident.target}: {state}"
    lines = [f"What happened: {happened}", f"On: {incident.target.kind} {incident.target}"]
    steps = redact(did) if did is not None else _steps(timeline, redact)
    if steps:
        lines.append(f"Tagent did: {steps}")
    if proposes:
        lines.append(f"Tagent proposes: {redact(proposes)}")
    if not steps and not proposes:
        lines.append("Tagent did: nothing yet")
    lines += [f"Status: {state}", f"Incident: {link}"]
    return Message(title=title, body="\n".join(lines), incident_url=link, kind=kind_for(incident))
