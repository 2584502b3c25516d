"""Incidents: one per rule and target while it lasts, with everything that happened on one timeline.

`IncidentBook` is the incident side of the flow (the escalation package drives it): open on the first
decision for a fingerprint (`<rule>/<kind>/<namespace>/<name>`) or attach to the open one, put events,
decisions, guard verdicts and steps on the timeline (each once), count how often a fingerprint came back
shortly after it closed (flapping), and close an incident with its post-mortem.

Timeline data shapes (read by tagent.debrief.postmortem and the dashboard):
    event     {id, source, kind, reason, message, values, labels}
    decision  {id, rule, playbook, mode, severity, params, rules_version}
    guard     {allowed, mode, reason, detail}
    step      {run_id, step_key, section, step, action, status, detail, command}
    status / notification / call / ack / approval: free text summary plus small data
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from tagent.actions import CATALOG
from tagent.debrief.explained import append_explanation
from tagent.debrief.postmortem import render_postmortem
from tagent.llm import LLMClient
from tagent.llm.explain import Evidence, Explanation, explain_incident
from tagent.model import Decision, Event, Incident, IncidentStatus, StepStatus, TimelineEntry
from tagent.playbooks.runner import StepReport
from tagent.store import NewVerdict, PostmortemRecord, Store

Redact = Callable[[str], str]
CLOSED = (IncidentStatus.resolved, IncidentStatus.failed)


def fingerprint(decision: Decision) -> str:
    return f"{decision.rule}/{decision.target.key}"


class IncidentBook:
    """`redact` masks free text from the cluster (event messages, step details: anything may leak there);
    `mask` masks only known secret values, for text Tagent wrote itself (kubectl equivalents) and for the
    post-mortem, which renders text already redacted when it was put on the timeline."""

    def __init__(self, store: Store, *, redact: Redact = lambda s: s, mask: Redact = lambda s: s,
                 flap_window: float = 1800.0, llm: LLMClient | None = None) -> None:
        self.store, self.redact, self.mask, self.flap_window = store, redact, mask, flap_window
        self.llm = llm  # None: the explanation section says no LLM is configured
        self._explained: dict[str, Explanation] = {}  # one LLM call per incident, however often it is rewritten

    def open(self, decision: Decision, at: datetime) -> tuple[Incident, bool, int]:
        """(incident, created, recent closes of the same fingerprint within the flap window)."""
        fp = fingerprint(decision)
        fresh = Incident(fingerprint=fp, rule=decision.rule, target=decision.target, severity=decision.severity,
                         rules_version=decision.rules_version, opened_at=at)
        incident, created = self.store.incidents.open(fresh)
        flaps = 0
        if created:
            since = at - timedelta(seconds=self.flap_window)
            flaps = sum(1 for i in self.store.incidents.list(since=since - timedelta(days=1), limit=500)
                        if i.fingerprint == fp and i.status in CLOSED and i.id != incident.id
                        and (i.resolved_at or i.opened_at) >= since)
        return incident, created, flaps

    def related(self, decision: Decision, at: datetime, settle: float) -> Incident | None:
        """Another rule's incident on the same workload that is still active, or closed less than `settle`
        seconds ago. One symptom of a fault (a bad deploy's 500s in the logs, the CPU after a scale-up) must
        not start a second remediation of a workload that is already being, or was just, repaired."""
        since = at - timedelta(seconds=settle)
        for incident in self.store.incidents.list(since=since - timedelta(days=1), target=decision.target, limit=50):
            if incident.rule == decision.rule:
                continue
            if incident.status not in CLOSED or (incident.resolved_at or incident.opened_at) >= since:
                return incident
        return None

    def join(self, related: Incident, decision: Decision, events: Iterable[Event], at: datetime) -> None:
        """Fold another rule's decision into `related`: recorded (refused, `joined_incident`), its events and a
        note on the timeline, and no second remediation."""
        self.store.decisions.record(decision, NewVerdict(
            decision_id=decision.id, actor="tagent", rule=decision.rule, rules_version=decision.rules_version,
            target_key=decision.target.key, namespace=decision.target.namespace, action=None, allowed=False,
            reason="joined_incident", detail=f"joined incident {related.id} ({related.rule})", mode="refused",
            at=at))
        self.add_events(related, events)
        self.add(related.id, "note", f"rule {decision.rule} also matched {decision.target}; it belongs to this "
                 f"incident ({related.rule}), so Tagent starts no second remediation", at, rule=decision.rule,
                 decision_id=decision.id)

    def add(self, incident_id: str, kind: str, summary: str, at: datetime, /, **data: Any) -> None:
        self.store.incidents.add_timeline(incident_id, TimelineEntry(at=at, kind=kind, summary=self.redact(summary),
                                                                     data=data))

    def add_events(self, incident: Incident, events: Iterable[Event]) -> int:
        """Put events on the timeline once each (by event id); returns how many were new."""
        known = {e.data.get("id") for e in incident.timeline if e.kind == "event"}
        added = 0
        for ev in events:
            if ev.id in known:
                continue
            text = f"{ev.reason or ev.kind} on {ev.target}" + (f": {ev.message}" if ev.message else "")
            self.add(incident.id, "event", text, ev.observed_at, id=ev.id, source=ev.source.value, kind=ev.kind,
                     reason=ev.reason, message=self.redact(ev.message), values=dict(ev.values),
                     labels=dict(ev.labels))
            known.add(ev.id)
            added += 1
        return added

    def add_decision(self, incident_id: str, decision: Decision, at: datetime) -> None:
        what = f"playbook {decision.playbook}" if decision.playbook else "notify only"
        self.add(incident_id, "decision", f"rule {decision.rule} matched: {what} ({decision.mode.value} mode)", at,
                 id=decision.id, rule=decision.rule, playbook=decision.playbook, mode=decision.mode.value,
                 severity=decision.severity.value, params=decision.params, rules_version=decision.rules_version)

    def add_step(self, report: StepReport, at: datetime) -> bool:
        """Record a step once (a step replayed after a crash is recorded if its entry was lost)."""
        incident = self.store.incidents.get(self.incident_of(report) or "")
        if incident is None:
            return False
        if any(e.kind == "step" and e.data.get("step_key") == report.key for e in incident.timeline):
            return False
        r = report.result
        self.add(incident.id, "step", f"{report.name} ({report.action}): {r.status.value}"
                 + (f": {r.detail}" if r.detail else ""), r.finished_at or at, run_id=report.run_id,
                 step_key=report.key, section=report.section, step=report.name, action=report.action,
                 status=r.status.value, detail=self.redact(r.detail), command=self.mask(r.command))
        return True

    def incident_of(self, report: StepReport) -> str | None:
        run = self.store.runs.get(report.run_id)
        return run.incident_id if run else None

    def status(self, incident_id: str, status: IncidentStatus, at: datetime, summary: str) -> Incident | None:
        return self.store.incidents.set_status(incident_id, status, at=at, summary=self.redact(summary))

    def close(self, incident_id: str, status: IncidentStatus, at: datetime, summary: str) -> Incident | None:
        """Resolve or fail an incident (once) and write its post-mortem."""
        current = self.store.incidents.get(incident_id, timeline=False)
        if current is None or current.status in CLOSED:
            return current
        incident = self.status(incident_id, status, at, summary)
        if incident is not None:
            self.write_postmortem(incident, at)
        return incident

    def write_postmortem(self, incident: Incident, at: datetime) -> PostmortemRecord:
        """The deterministic facts, then the AI explanation (marked as such) or a note that there is none."""
        explanation = self._explained.get(incident.id)
        if explanation is None:
            explanation = explain_incident(incident, Evidence.from_incident(incident), self.llm)
            if len(self._explained) > 1000:
                self._explained.pop(next(iter(self._explained)))
            self._explained[incident.id] = explanation
        markdown = append_explanation(render_postmortem(incident, self.mask), explanation)
        title = f"{incident.rule} on {incident.target} ({incident.status.value})"
        return self.store.postmortems.save(incident.id, markdown, at=at, title=title)


def mutated_ok(report: StepReport) -> bool:
    """A step that changed the cluster (the moment an incident counts as mitigated)."""
    spec = CATALOG.get(report.action)
    return bool(spec and spec.mutates) and report.section == "steps" and report.result.status == StepStatus.ok
