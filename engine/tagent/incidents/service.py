"""`IncidentService`: the one object the engine, the API and the phone callback talk to about incidents.

    service.handle_batch(items, events)      a dispatch batch: admission in one transaction (tagent.incidents.admission)
    service.handle(decision, events)         one decision (the same path, a batch of one) -> Incident
    service.acknowledge / approve / deny / resolve (incident_id, by, ...)   people (tagent.incidents.people)
    service.tick(now) -> TickReport          every few seconds: Night Mode, grace calls, deferred decisions,
                                             runs to continue, notification retries; the quiet sweep every 30 s
    service.resume() / drain(timeout) / close()   start, wait, stop

Every part is built by the composition root (tagent.app.build) and passed in; nothing here reads Settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from tagent.actions import Registry
from tagent.debrief.localtime import team_timezone
from tagent.debrief.traces import TraceSource
from tagent.errors import ValidationError
from tagent.escalation import Escalation
from tagent.guard import Guard
from tagent.incidents.admission import Admitted, Admitter, Item
from tagent.incidents.book import Book
from tagent.incidents.closing import Closing, Postmortems
from tagent.incidents.outbox import OutboxWorker
from tagent.incidents.parts import Knobs, Parts
from tagent.incidents.people import People
from tagent.incidents.runs import Supervisor
from tagent.llm import LLMClient, Redactor
from tagent.model import Decision, Event, Incident, WorkloadInfo, WorkloadRef, utcnow
from tagent.notify import mask_text
from tagent.playbooks import PlaybookRunner, RunOutcome
from tagent.playbooks.runner import Leading
from tagent.policy import RuleSet
from tagent.store import RunRecord, Store

log = logging.getLogger(__name__)


@dataclass
class TickReport:
    night_remediations: int = 0
    notifications_retried: int = 0
    expired_approvals: int = 0
    quiet_resolved: int = 0
    deferred_retried: int = 0
    runs_continued: int = 0


class IncidentService:
    def __init__(self, parts: Parts, supervisor: Supervisor, escalation: Escalation, postmortems: Postmortems,
                 *, on_open: Callable[[Incident, Decision], None] | None = None, start_outbox: bool = True) -> None:
        self.p, self.supervisor, self.escalation = parts, supervisor, escalation
        self.store = parts.store
        self.admitter = Admitter(parts, supervisor.submit)
        self.people = People(parts, self.admitter)
        self.closing = Closing(parts)
        self.outbox = OutboxWorker(parts, escalation, postmortems)
        supervisor.on_outcome = self._finished
        self.on_open = on_open  # told of each new incident after its transaction (e.g. draft a missing playbook)
        if start_outbox:  # False for a replica that may not lead (docs/ha.md): `resume` starts it on the leader
            self.outbox.start()

    # -- decisions ------------------------------------------------------------------------------------
    def handle_batch(self, items: Sequence[Item], events: Sequence[Event] = ()) -> Admitted:
        admitted = self.admitter.admit(items, events=events)
        if items:
            self.p.admitted_at = time.monotonic()  # background work yields while decisions keep coming
        self.outbox.kick()
        if self.on_open is not None and admitted.opened:
            for incident_id, decision in admitted.opened:
                found = self.store.incidents.get(incident_id, timeline=False)
                if found is not None:
                    self.on_open(found, decision)
        return admitted

    def handle(self, decision: Decision, events: Sequence[Event] = ()) -> Incident:
        admitted = self.handle_batch([(decision, list(events))], events)
        return self.get(admitted.incidents[0])

    # -- people ---------------------------------------------------------------------------------------
    def acknowledge(self, incident_id: str, by: str) -> Incident:
        self.people.acknowledge(incident_id, by)
        return self._told(incident_id)

    def approve(self, incident_id: str, by: str) -> Incident:
        self.people.decide(incident_id, by, approve=True)
        return self._told(incident_id)

    def deny(self, incident_id: str, by: str, reason: str = "") -> Incident:
        self.people.decide(incident_id, by, approve=False, reason=reason)
        return self._told(incident_id)

    def resolve(self, incident_id: str, by: str, reason: str = "") -> Incident:
        self.people.resolve(incident_id, by, reason)
        return self._told(incident_id)

    def _told(self, incident_id: str) -> Incident:
        self.outbox.kick()
        return self.get(incident_id)

    # -- time -----------------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> TickReport:
        now = now or self.p.clock()
        report = TickReport()
        report.night_remediations = self.people.tick(now)
        report.expired_approvals = self.store.approvals.expire(now)
        report.deferred_retried = self._retry_deferred(now)
        report.runs_continued = len(self.supervisor.continue_due(now))
        report.quiet_resolved = self.closing.sweep(now)
        report.notifications_retried = self.escalation.retry_due(now)
        self.outbox.kick()
        return report

    def _retry_deferred(self, now: datetime) -> int:
        retried = 0
        for incident_id, decision_id in self.store.lifecycle.deferred(now):
            decision = self.store.decisions.get(decision_id)
            if decision is not None:
                self.admitter.retry(incident_id, decision)
                retried += 1
        return retried

    # -- runs -----------------------------------------------------------------------------------------
    def _finished(self, run: RunRecord, outcome: RunOutcome) -> None:
        self.closing.run_finished(run, outcome)
        self.outbox.kick()

    def resume(self) -> list[str]:
        """Continue the runs a crash or a restart interrupted, and send what a crash left in the outbox."""
        self.outbox.start()
        self.outbox.kick()
        return self.supervisor.resume()

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until no playbook runs, then send everything pending; False when runs were still going."""
        ok = self.supervisor.drain(timeout)
        self.outbox.drain()
        return ok

    def close(self) -> None:
        self.supervisor.close()
        self.outbox.stop()

    def get(self, incident_id: str) -> Incident:
        incident = self.store.incidents.get(incident_id)
        if incident is None:
            raise ValidationError(f"no incident {incident_id}")
        return incident


def incident_service(store: Store, guard: Guard, registry: Registry, rules: Callable[[], RuleSet], *,
                     escalation: Escalation, clock: Callable[[], datetime] = utcnow, owner: str | None = None,
                     knobs: Knobs | None = None, secrets: Iterable[str] = (), llm: LLMClient | None = None,
                     workloads: Callable[[Sequence[WorkloadRef]], dict[str, WorkloadInfo]] | None = None,
                     stale_after: float = 30.0, leading: Leading | None = None,
                     executor: Executor | None = None, traces: TraceSource | None = None,
                     home_cluster: str | None = None, backlog: Callable[[], bool] | None = None,
                     on_open: Callable[[Incident, Decision], None] | None = None) -> IncidentService:
    """Assemble the lifecycle from its parts (what the composition root and the tests call)."""
    known = tuple(secrets)
    mask: Callable[[str], str] = lambda text: mask_text(text, known)  # noqa: E731
    parts = Parts(store=store, guard=guard, book=Book(redact=Redactor(known), mask=mask), rules=rules, clock=clock,
                  workloads=workloads or store.inventory.get_many, knobs=knobs or Knobs(),
                  backlog=backlog or (lambda: False))
    runner = PlaybookRunner(store, registry, clock=clock, owner=owner, stale_after=stale_after, leading=leading)
    return IncidentService(parts, Supervisor(parts, runner, executor=executor), escalation,
                           Postmortems(store, mask=mask, llm=llm, timezone=lambda: team_timezone(rules()),
                                       traces=traces, home_cluster=home_cluster),
                           on_open=on_open, start_outbox=leading is None)
