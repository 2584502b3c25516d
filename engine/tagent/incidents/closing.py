"""Closing: a run's outcome resolves or fails its incident; quiet incidents resolve themselves; post-mortems.

- `run_finished` (a run's outcome, from the supervisor): succeeded -> resolved (the health check that held
  says why), failed -> failed (and a call when its `on_failure` did not page already), parked on a step
  approval -> awaiting_ack. Notifications, calls and the post-mortem go to the outbox.
- `sweep` (every `sweep_every` seconds): open incidents with no evidence for `quiet_after` seconds and nothing
  running resolve ("the condition cleared"). One indexed query finds them.
- `Postmortems.write`: the deterministic facts (tagent.debrief) with one quoted trace of the incident's window
  (or the note that none was recorded), then the AI explanation (marked as such) or a note that there is
  none. Called from the outbox, never inside a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

from tagent.debrief.explained import append_explanation
from tagent.debrief.postmortem import render_postmortem
from tagent.debrief.traces import TraceSource, quote_trace
from tagent.incidents.parts import Parts
from tagent.llm import LLMClient
from tagent.llm.explain import Evidence, Explanation, explain_incident
from tagent.model import Incident, IncidentStatus, StepStatus
from tagent.model.duration import format_duration
from tagent.playbooks import RunOutcome
from tagent.store import PostmortemRecord, RunRecord, RunStatus, Store


class Closing:
    def __init__(self, parts: Parts) -> None:
        self.p = parts
        self._last_sweep: datetime | None = None

    def run_finished(self, run: RunRecord, outcome: RunOutcome) -> None:
        if run.incident_id is None:
            return
        now, incident_id, book = self.p.clock(), run.incident_id, self.p.book
        with self.p.store.lifecycle.unit() as unit:
            if outcome.status == RunStatus.succeeded:
                check = outcome.verified
                summary = ("resolved: dry-run finished, nothing was changed" if run.dry_run else
                           f"resolved: {check.name} held ({check.result.detail})" if check else
                           f"resolved: playbook {run.playbook} succeeded")
                book.close(unit, incident_id, IncidentStatus.resolved, now, summary)
            elif outcome.status == RunStatus.failed:
                if book.close(unit, incident_id, IncidentStatus.failed, now, f"failed: {outcome.detail}"):
                    paged = any(s.action == "notify.page" and s.result.status == StepStatus.ok for s in outcome.steps)
                    if not paged:
                        unit.outbox(incident_id, "call", {"what": outcome.detail}, now, key=f"call-failed:{run.id}")
            elif outcome.status == RunStatus.awaiting_approval and book.status(
                    unit, incident_id, IncidentStatus.awaiting_ack, now, outcome.detail):
                unit.outbox(incident_id, "notify", {}, now)

    def sweep(self, now: datetime, *, force: bool = False) -> int:
        """Resolve quiet incidents (at most every `sweep_every` seconds unless `force`); returns how many."""
        k = self.p.knobs
        if not force and self._last_sweep is not None and (now - self._last_sweep).total_seconds() < k.sweep_every:
            return 0
        self._last_sweep = now
        closed = 0
        for incident_id in self.p.store.lifecycle.quiet(now - timedelta(seconds=k.quiet_after)):
            with self.p.store.lifecycle.unit() as unit:
                state = unit.status_of(incident_id)
                if state is None or state[0] != IncidentStatus.open or unit.busy(incident_id):
                    continue
                closed += self.p.book.close(unit, incident_id, IncidentStatus.resolved, now, "resolved: the "
                                            f"condition cleared (no new evidence for {format_duration(k.quiet_after)})")
        return closed


class Postmortems:
    def __init__(self, store: Store, *, mask: Callable[[str], str], llm: LLMClient | None = None,
                 timezone: Callable[[], tzinfo] = lambda: UTC, traces: TraceSource | None = None,
                 home_cluster: str | None = None) -> None:
        self.store, self.llm = store, llm
        self.mask = mask
        self.timezone = timezone  # the team's zone (the escalation policy's), asked at each writing
        self.traces = traces  # quotes one trace of the incident's window (None: "no trace was recorded")
        self.home_cluster = home_cluster  # named in every post-mortem when the engine watches several clusters
        self._explained: dict[str, Explanation] = {}  # one LLM call per incident, however often it is rewritten

    def write(self, incident: Incident, at: datetime) -> PostmortemRecord:
        explanation = self._explained.get(incident.id)
        if explanation is None:
            explanation = explain_incident(incident, Evidence.from_incident(incident), self.llm)
            if len(self._explained) > 1000:
                self._explained.pop(next(iter(self._explained)))
            self._explained[incident.id] = explanation
        tz = self.timezone()
        trace = quote_trace(self.traces, incident, at, tz=tz, redact=self.mask)
        markdown = append_explanation(render_postmortem(incident, self.mask, tz=tz, trace=trace,
                                                     home_cluster=self.home_cluster), explanation)
        title = f"{incident.rule} on {incident.target} ({incident.status.value})"
        return self.store.postmortems.save(incident.id, markdown, at=at, title=title)
