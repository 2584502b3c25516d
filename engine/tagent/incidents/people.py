"""People and the clock: acknowledge, approve, deny, resolve; Night Mode; the phone after the call grace.

Each answer is one lifecycle unit (the approval is decided, the incident moves, the run row is written, all
or nothing); the run is submitted and people are told after it commits.

- approve (API, dashboard, phone digit 2): an incident question starts its playbook; a step question
  (a run parked on `approval.request`) lets the run go on.
- Night Mode (`night`): inside the policy's night window, a question nobody acknowledged within
  `ack_timeout` is approved by `tagent:night-mode` when the policy says `on_no_ack: remediate`.
- the phone rings for a question only after `call_grace` seconds (an automatic fix may supersede it first).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from tagent.errors import ValidationError
from tagent.escalation.night import in_night
from tagent.incidents.admission import Admitted, Admitter
from tagent.incidents.parts import NIGHT_MODE, Parts
from tagent.model import Decision, Event, IncidentStatus
from tagent.model.duration import format_duration
from tagent.model.timeline import AckData, ApprovalData
from tagent.store import ApprovalRecord, Unit


class People:
    def __init__(self, parts: Parts, admitter: Admitter) -> None:
        self.p, self.admitter = parts, admitter
        self._called: set[str] = set()  # approvals whose grace call was queued by this process

    def acknowledge(self, incident_id: str, by: str) -> None:
        now = self.p.clock()
        with self.p.store.lifecycle.unit() as unit:
            state = unit.status_of(incident_id)
            if state is None:
                raise ValidationError(f"no incident {incident_id}")
            unit.acknowledge(incident_id, now)
            self.p.book.add(unit, incident_id, now, f"acknowledged by {by}", AckData(by=by))
            if state[0] == IncidentStatus.awaiting_ack:
                self.p.book.status(unit, incident_id, IncidentStatus.open, now, f"acknowledged by {by}: Tagent "
                                   "will not act on its own; approve to run the playbook")

    def decide(self, incident_id: str, by: str, *, approve: bool, reason: str = "") -> None:
        now, out = self.p.clock(), Admitted()
        with self.p.store.lifecycle.unit() as unit:
            if unit.status_of(incident_id) is None:
                raise ValidationError(f"no incident {incident_id}")
            pending = unit.pending_approvals(incident_id)
            if not pending:
                raise ValidationError(f"incident {incident_id} has nothing waiting for approval")
            if approve and unit.acknowledge(incident_id, now):
                self.p.book.add(unit, incident_id, now, f"acknowledged by {by}", AckData(by=by))
            for approval in pending:
                if unit.decide(approval.id, approve=approve, by=by, at=now, reason=reason):
                    self._decided(unit, incident_id, approval, by, approve, reason, now, out)
            unit.after_commit.extend(partial(self.admitter.submit, run) for run in out.runs)

    def _decided(self, unit: Unit, incident_id: str, approval: ApprovalRecord, by: str, approve: bool, reason: str,
                 now: datetime, out: Admitted) -> None:
        verb = "approved" if approve else "denied"
        self.p.book.add(unit, incident_id, now, f"{verb} by {by}" + (f": {reason}" if reason else ""),
                        ApprovalData(approval_id=approval.id, approved=approve, by=by))
        if approval.kind == "incident":
            if approve:
                self._start(unit, incident_id, approval, now, out)
            else:
                self.p.book.status(unit, incident_id, IncidentStatus.open, now, f"denied by {by}: Tagent will not act")
        elif approval.run_id:
            out.runs.append(approval.run_id)  # the parked step reads the decision and goes on (or fails)

    def _start(self, unit: Unit, incident_id: str, approval: ApprovalRecord, now: datetime, out: Admitted) -> None:
        decision = Decision.model_validate(approval.payload["decision"])
        events = [Event.model_validate(e) for e in approval.payload.get("events") or []]
        self.admitter.start(unit, incident_id, decision, events, self.p.rules(), now, dry_run=False, out=out)

    def resolve(self, incident_id: str, by: str, reason: str = "") -> None:
        now = self.p.clock()
        with self.p.store.lifecycle.unit() as unit:
            state = unit.status_of(incident_id)
            if state is None:
                raise ValidationError(f"no incident {incident_id}")
            self.p.book.close(unit, incident_id, IncidentStatus.resolved, now,
                              f"resolved by {by}" + (f": {reason}" if reason else ""))

    # -- time -----------------------------------------------------------------------------------------
    def tick(self, now: datetime) -> int:
        """Grace calls and Night Mode for pending incident questions; returns Night Mode remediations."""
        policy, remediated = self.p.policy(), 0
        questions = [a for a in self.p.store.approvals.pending() if a.kind == "incident" and a.incident_id]
        for approval in questions:
            incident_id = approval.incident_id or ""
            waited = now - approval.requested_at
            grace = self.p.knobs.call_grace
            if grace > 0 and waited >= timedelta(seconds=grace) and approval.id not in self._called:
                self._called.add(approval.id)
                with self.p.store.lifecycle.unit() as unit:
                    state = unit.status_of(incident_id)
                    if state is not None and not state[1]:
                        unit.outbox(incident_id, "call", {"what": "Tagent proposes to run playbook "
                                                                  f"{approval.action.partition(':')[2]}"},
                                    now, key=f"call:{incident_id}")
            night = policy.on_no_ack == "remediate" and in_night(policy.night, now)
            if night and waited >= timedelta(seconds=policy.ack_timeout) and self._night(approval, now,
                                                                                          policy.ack_timeout):
                remediated += 1
        return remediated

    def _night(self, approval: ApprovalRecord, now: datetime, ack_timeout: float) -> bool:
        out = Admitted()
        incident_id = approval.incident_id or ""
        with self.p.store.lifecycle.unit() as unit:
            state = unit.status_of(incident_id)
            if state is None or state[1]:  # acknowledged: a person has it, Night Mode stays out
                return False
            if not unit.decide(approval.id, approve=True, by=NIGHT_MODE, at=now,
                               reason=f"nobody acknowledged within {format_duration(ack_timeout)} at night"):
                return False
            self.p.book.add(unit, incident_id, now, "Night Mode: nobody acknowledged within "
                            f"{format_duration(ack_timeout)}; Tagent remediates",
                            ApprovalData(approval_id=approval.id, approved=True, by=NIGHT_MODE))
            self._start(unit, incident_id, approval, now, out)
            unit.after_commit.extend(partial(self.admitter.submit, run) for run in out.runs)
        return True
