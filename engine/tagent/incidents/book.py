"""Writing an incident inside a lifecycle unit: typed timeline entries, state changes through the state
machine, and the outbox items (notify, call, post-mortem) that are sent once the unit committed.

`redact` masks free text from the cluster (event messages, step details: anything may leak there); `mask`
masks only known secret values, for text Tagent wrote itself (kubectl equivalents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from tagent.guard import Verdict
from tagent.incidents.states import may
from tagent.model import Decision, Event, IncidentStatus
from tagent.model.timeline import (
    DecisionData,
    EventData,
    GuardData,
    NoteData,
    StatusData,
    StepData,
    TimelineData,
    entry,
)
from tagent.playbooks import StepReport
from tagent.store import Unit

Redact = Callable[[str], str]


def fingerprint(decision: Decision) -> str:
    return f"{decision.rule}/{decision.target.key}"


class Book:
    def __init__(self, *, redact: Redact = lambda s: s, mask: Redact = lambda s: s) -> None:
        self.redact, self.mask = redact, mask

    def add(self, unit: Unit, incident_id: str, at: datetime, summary: str, payload: TimelineData,
            ref: str | None = None, *, cluster_text: bool = False) -> None:
        """`cluster_text`: the summary quotes the cluster (event messages, step details), which may hold anything,
        so it is redacted in full; Tagent's own sentences only have known secret values masked (much cheaper)."""
        text = self.redact(summary) if cluster_text else self.mask(summary)
        unit.timeline(incident_id, entry(at, text, payload), ref)

    def note(self, unit: Unit, incident_id: str, at: datetime, summary: str, /, **data: object) -> None:
        self.add(unit, incident_id, at, summary, NoteData.model_validate(data))

    def events(self, unit: Unit, incident_id: str, events: Iterable[Event]) -> None:
        """Each event once per incident (the database refuses a second entry with the same `ref`)."""
        for ev in events:
            message = self.redact(ev.message) if ev.message else ""
            text = f"{ev.reason or ev.kind} on {ev.target}" + (f": {message}" if message else "")
            payload = EventData(  # (validating is faster than pydantic's model_construct)
                kind="event", id=ev.id, source=ev.source.value, event_kind=ev.kind, reason=ev.reason,
                message=message, values=dict(ev.values), labels=dict(ev.labels))
            self.add(unit, incident_id, ev.observed_at, self.mask(text), payload, ref=f"event:{ev.id}")

    def decision(self, unit: Unit, incident_id: str, decision: Decision, at: datetime) -> None:
        what = f"playbook {decision.playbook}" if decision.playbook else "notify only"
        self.add(unit, incident_id, at, f"rule {decision.rule} matched: {what} ({decision.mode.value} mode)",
                 DecisionData(kind="decision", id=decision.id, rule=decision.rule, playbook=decision.playbook,
                              mode=decision.mode.value, severity=decision.severity.value, params=decision.params,
                              rules_version=decision.rules_version), ref=f"decision:{decision.id}")

    def guard(self, unit: Unit, incident_id: str, verdict: Verdict) -> None:
        self.add(unit, incident_id, verdict.at, f"guard: {verdict.mode.value} ({verdict.reason.value})"
                 + (f": {verdict.detail}" if verdict.detail else ""),
                 GuardData(kind="guard", allowed=verdict.allowed, mode=verdict.mode.value,
                           reason=verdict.reason.value, detail=verdict.detail),
                 ref=f"guard:{verdict.decision_id}:{verdict.at.isoformat()}")

    def step(self, unit: Unit, incident_id: str, report: StepReport, at: datetime) -> None:
        r = report.result
        self.add(unit, incident_id, r.finished_at or at, f"{report.name} ({report.action}): {r.status.value}"
                 + (f": {r.detail}" if r.detail else ""),
                 StepData(run_id=report.run_id, step_key=report.key, section=report.section, step=report.name,
                          action=report.action, status=r.status.value, detail=self.redact(r.detail),
                          command=self.mask(r.command)), ref=f"step:{report.key}", cluster_text=True)

    def status(self, unit: Unit, incident_id: str, status: IncidentStatus, at: datetime, summary: str) -> bool:
        """Move the incident (if the state machine allows it from where it is); True when it moved."""
        current = unit.status_of(incident_id)
        if current is None or current[0] == status or not may(current[0], status):
            return False
        unit.set_status(incident_id, status, at)
        self.add(unit, incident_id, at, summary or f"status: {status.value}",
                 StatusData(status=status.value, previous=current[0].value), cluster_text=True)
        return True

    def close(self, unit: Unit, incident_id: str, status: IncidentStatus, at: datetime, summary: str) -> bool:
        """Resolve, fail or supersede (once): people hear of it, then the post-mortem is written (both after the
        unit commits, from the outbox, in that order so the post-mortem shows the notifications)."""
        if not status.closed or not self.status(unit, incident_id, status, at, summary):
            return False
        unit.outbox(incident_id, "notify", {}, at, key=f"closed:{incident_id}")
        unit.outbox(incident_id, "postmortem", {}, at, key=f"postmortem:{incident_id}")
        return True
