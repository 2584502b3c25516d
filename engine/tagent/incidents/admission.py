"""Admission: what a batch of decisions does to incidents, all in ONE lifecycle transaction.

Per decision, in order (docs/incidents.md):
1. dedup: the fingerprint (`rule/kind/namespace/name`) has an open incident: the decision is evidence for it;
2. join: another rule's incident on the workload is active, or closed less than `settle` ago: the decision
   joins it (recorded `joined_incident`; no second remediation) unless it supersedes it (an automatic rule
   takes over a workload whose incident only waits for a person: that incident becomes `superseded`);
3. otherwise a new incident opens; when the fingerprint closed before, the new one links the previous one,
   and `flap_limit` closes within `flap_window` (an SQL count) make it ask a person instead of acting.
Then the guard judges it inside the same transaction (its cooldown and verdict commit with the incident and
the run), and a new incident reacts: start the playbook (the run row is in the transaction; it is submitted
after commit), ask a person, or notify. A decision the rate limit refuses takes no cooldown and is retried.
Cooldown refusals tell nobody anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from tagent.escalation.night import routes_for
from tagent.guard import DEFAULT_COOLDOWN_S, Reason, Verdict, VerdictMode
from tagent.guard.limits import RATE_REASONS
from tagent.incidents.book import fingerprint
from tagent.incidents.parts import Parts
from tagent.model import Decision, Event, Incident, IncidentStatus, Mode, WorkloadInfo, WorkloadRef
from tagent.model.duration import format_duration
from tagent.model.timeline import ApprovalData
from tagent.playbooks import rule_context, snapshot_of
from tagent.playbooks.runner import CATALOG
from tagent.policy import RuleSet
from tagent.store import Active, CooldownLost, NewVerdict, Unit

log = logging.getLogger(__name__)
Item = tuple[Decision, Sequence[Event]]


@dataclass
class Admitted:
    """What a batch did: the incident of each decision (in order) and the runs to submit after commit."""

    incidents: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    opened: list[tuple[str, Decision]] = field(default_factory=list)


@dataclass
class _Batch:
    """What one admission transaction reads once for all its decisions."""

    known: dict[str, list[Active]]
    items: Sequence[Item]
    _flaps: dict[str, int] | None = None
    _workloads: dict[str, WorkloadInfo] | None = None

    def flaps(self, unit: Unit, since: datetime) -> dict[str, int]:
        if self._flaps is None:  # counted before this batch opened anything: its own incidents are not flaps
            self._flaps = unit.count_flaps([fingerprint(d) for d, _ in self.items], since)
        return self._flaps

    def workload(self, parts: Parts, target: WorkloadRef) -> WorkloadInfo | None:
        if self._workloads is None:
            self._workloads = parts.workloads([d.target for d, _ in self.items])
        return self._workloads.get(target.key)


class Admitter:
    def __init__(self, parts: Parts, submit: Callable[[str], None]) -> None:
        self.p = parts
        self.submit = submit

    def admit(self, items: Sequence[Item], *, events: Sequence[Event] = (), retried: Sequence[str] = ()) -> Admitted:
        """Admit a batch; `events` are the batch's events to store (matched or not) in the same transaction;
        `retried` incidents had a deferred decision that is in `items` again. When another transaction took a
        cooldown this one read as free (PostgreSQL, another writer), the unit rolls back and the batch is
        admitted once more: the second time it reads that cooldown."""
        try:
            return self._admit(items, events, retried)
        except CooldownLost as exc:
            log.info("admitting %d decisions again: %s", len(items), exc)
            return self._admit(items, events, retried)

    def _admit(self, items: Sequence[Item], events: Sequence[Event], retried: Sequence[str]) -> Admitted:
        now, ruleset, k = self.p.clock(), self.p.rules(), self.p.knobs
        out = Admitted()
        with self.p.store.lifecycle.unit(admission=True) as unit:
            unit.add_events(events)
            for incident_id in retried:
                unit.defer(incident_id, None, None)
            horizon = now - timedelta(seconds=k.settle)
            batch = _Batch(known=unit.active_on([d.target for d, _ in items], horizon), items=items)
            unit.prefetch_cooldowns((d.rule, d.target.key) for d, _ in items)
            for decision, evs in items:
                out.incidents.append(self._one(unit, batch, decision, list(evs), now, ruleset, out))
            unit.after_commit.extend(partial(self.submit, run) for run in out.runs)
        return out

    def retry(self, incident_id: str, decision: Decision) -> Admitted:
        """A decision the rate limit deferred, admitted again (deferred again if the limit still holds)."""
        return self.admit([(decision, [])], retried=[incident_id])

    def _one(self, unit: Unit, batch: _Batch, decision: Decision, events: list[Event],
             now: datetime, ruleset: RuleSet, out: Admitted) -> str:
        k, fp, key = self.p.knobs, fingerprint(decision), decision.target.key
        on_target = batch.known.setdefault(key, [])
        unit.add_events(events)
        mine = next((a for a in on_target if a.fingerprint == fp and not a.status.closed), None)
        last = next((a for a in on_target if a.fingerprint == fp), None) if mine is None else None
        if last is not None and last.closed_at is not None:
            echo = self._echo(unit, last, decision, events, now)
            if echo is not None:
                self._join(unit, last, decision, events, now, echo=echo)
                return last.id
        if mine is None:
            settle = now - timedelta(seconds=k.settle)
            other = next((a for a in on_target if a.rule != decision.rule
                          and (not a.status.closed or (a.closed_at is not None and a.closed_at >= settle))), None)
            if other is not None and self._supersedes(unit, other, decision, now, ruleset):
                other = None
            if other is not None:
                self._join(unit, other, decision, events, now)
                return other.id
        created, flaps = mine is None, 0
        if mine is None:
            mine, flaps = self._open(unit, batch, on_target, decision, fp, now)
            out.opened.append((mine.id, decision))
        self.p.book.events(unit, mine.id, events)
        rule = ruleset.rules.get(decision.rule)
        verdict = self.p.guard.judge_in(unit, decision, cooldown=rule.spec.cooldown if rule else DEFAULT_COOLDOWN_S,
                                        workload=lambda: batch.workload(self.p, decision.target))
        if created or verdict.reason != Reason.cooldown:  # a re-detection in cooldown is evidence, nothing more
            self.p.book.decision(unit, mine.id, decision, now)  # (its decision and verdict are in their tables)
            self.p.book.guard(unit, mine.id, verdict)
        flapping = created and flaps >= k.flap_limit
        if flapping:
            self.p.book.note(unit, mine.id, now, f"flapping: {decision.rule} on {decision.target} came back {flaps} "
                             f"times within {format_duration(k.flap_window)}; escalating to a person", topic="flapping",
                             flaps=flaps)
        if created:
            self.react(unit, mine.id, decision, events, verdict, ruleset, flapping=flapping, out=out, created=True)
        elif verdict.may_mutate and not unit.busy(mine.id):
            self.p.book.note(unit, mine.id, now, f"{decision.rule} still matches and the guard lets it act now "
                             "(the cooldown is over, or the rate limit allows it)", topic="acting_again",
                             decision_id=decision.id)
            self.react(unit, mine.id, decision, events, verdict, ruleset, flapping=False, out=out, created=False)
        elif verdict.reason in RATE_REASONS:
            self._defer(unit, mine.id, decision, verdict, now)
        return mine.id

    @staticmethod
    def _echo(unit: Unit, last: Active, decision: Decision, events: list[Event], now: datetime) -> str | None:
        """Why this decision is an echo of the fingerprint's closed incident (None: it is not): its evidence was
        observed before the close (a storm's queue), or the rule's cooldown on the workload still runs (the
        fault is seen again while the fix settles; after the cooldown it is a new, linked incident that acts)."""
        assert last.closed_at is not None
        if events and max(e.observed_at for e in events) <= last.closed_at:
            return "evidence from before the incident closed"
        until = unit.cooldown_until(decision.rule, decision.target.key)
        if until is None or until <= now:
            return None
        return (f"rule {decision.rule} already acted on {decision.target} recently; cooldown ends at "
                f"{until.isoformat()} (in {(until - now).total_seconds():.0f}s)")

    def _open(self, unit: Unit, batch: _Batch, on_target: list[Active], decision: Decision, fp: str,
              now: datetime) -> tuple[Active, int]:
        incident = Incident(fingerprint=fp, rule=decision.rule, target=decision.target, severity=decision.severity,
                            rules_version=decision.rules_version, opened_at=now)
        unit.open(incident)
        active = Active(incident.id, fp, decision.rule, IncidentStatus.open, now, None, False)
        previous = next((a for a in on_target if a.fingerprint == fp), None)
        on_target.insert(0, active)
        flaps = batch.flaps(unit, now - timedelta(seconds=self.p.knobs.flap_window)).get(fp, 0)
        if previous is not None:
            self.p.book.note(unit, incident.id, now, f"the same fault came back after incident {previous.id} "
                             f"({previous.status.value}): this incident follows it", topic="linked",
                             incident_id=previous.id)
        return active, flaps

    def _join(self, unit: Unit, other: Active, decision: Decision, events: list[Event], now: datetime, *,
              echo: str | None = None) -> None:
        """Fold a decision into the workload's incident: recorded as refused, its events and a note on the
        timeline, and no second remediation. Another rule's decision is `joined_incident`; an `echo` of the same
        rule's closed incident (see `_echo`) is `cooldown` when its cooldown runs."""
        reason = "cooldown" if echo and "cooldown ends at" in echo else "joined_incident"
        detail = f"{echo}; joined incident {other.id}" if echo else f"joined incident {other.id} ({other.rule})"
        unit.record(decision, NewVerdict(
            decision_id=decision.id, actor=f"rule:{decision.rule}" if echo else "tagent", rule=decision.rule,
            rules_version=decision.rules_version, target_key=decision.target.key,
            namespace=decision.target.namespace, action=None, allowed=False, reason=reason, detail=detail,
            mode="refused", at=now))
        self.p.book.events(unit, other.id, events)
        if echo:
            self.p.book.note(unit, other.id, now, f"{decision.rule} matched again after this incident closed "
                             f"({echo}); Tagent acts again if it still matches after the cooldown", topic="echo",
                             rule=decision.rule, decision_id=decision.id)
            return
        self.p.book.note(unit, other.id, now, f"rule {decision.rule} also matched {decision.target}; it belongs to "
                         f"this incident ({other.rule}), so Tagent starts no second remediation", topic="joined",
                         rule=decision.rule, decision_id=decision.id)

    def _supersedes(self, unit: Unit, other: Active, decision: Decision, now: datetime, ruleset: RuleSet) -> bool:
        """An automatic rule that changes something matched a workload whose other incident only waits for a
        person: withdraw the question and let the automatic rule act (a bad deploy's 500s must not hold back
        its rollback). A rule whose playbook only tells (no step mutates) withdraws nobody's question."""
        if decision.mode != Mode.auto or other.status != IncidentStatus.awaiting_ack:
            return False
        if not _remediates(ruleset, decision.rule):
            return False
        why = f"superseded: {decision.rule} acts automatically"
        for approval in unit.pending_approvals(other.id):
            unit.decide(approval.id, approve=False, by="tagent", at=now, reason=why)
            self.p.book.add(unit, other.id, now, f"denied by tagent: {why}",
                            ApprovalData(approval_id=approval.id, approved=False, by="tagent"))
        self.p.book.close(unit, other.id, IncidentStatus.superseded, now,
                          f"superseded by the automatic rule {decision.rule}")
        other.status, other.closed_at = IncidentStatus.superseded, now
        return True

    def _defer(self, unit: Unit, incident_id: str, decision: Decision, verdict: Verdict, now: datetime) -> None:
        retry = now + timedelta(seconds=self.p.knobs.retry_every)
        unit.defer(incident_id, decision.id, retry)
        self.p.book.note(unit, incident_id, now, f"deferred: {verdict.detail}; no cooldown was taken and Tagent "
                         f"tries again at {retry.isoformat()}", topic="deferred", decision_id=decision.id)

    # -- reacting -------------------------------------------------------------------------------------
    def react(self, unit: Unit, incident_id: str, decision: Decision, events: list[Event], verdict: Verdict,
              ruleset: RuleSet, *, flapping: bool, out: Admitted, created: bool) -> None:
        now = verdict.at
        playbook = ruleset.playbooks.get(decision.playbook) if decision.playbook else None
        opened = f"open:{incident_id}"
        if not verdict.allowed:
            if verdict.reason in RATE_REASONS:
                self._defer(unit, incident_id, decision, verdict, now)
                unit.outbox(incident_id, "notify", {"did": f"nothing yet: {verdict.detail}; retried when the "
                                                           "limit allows", "first": True}, now, key=opened)
            elif verdict.reason.value != "cooldown":
                unit.outbox(incident_id, "notify", {"did": f"nothing: {verdict.detail}", "first": True}, now,
                            key=opened)
            if flapping or decision.mode == Mode.approve:
                unit.outbox(incident_id, "call", {"what": "keeps coming back"}, now, key=f"call:{incident_id}")
            return
        if verdict.mode in (VerdictMode.notify_only, VerdictMode.change_request) or playbook is None:
            unit.outbox(incident_id, "notify", {"did": verdict.detail or "nothing: this rule only notifies",
                                                "first": created}, now, key=opened if created else None)
            return
        if decision.mode == Mode.approve or flapping:
            self.ask(unit, incident_id, decision, events, now)
            return
        self.start(unit, incident_id, decision, events, ruleset, now, dry_run=verdict.mode == VerdictMode.dry_run,
                   out=out)
        if created:  # acting again on a known incident: its outcome (resolved, failed) is what people hear next
            unit.outbox(incident_id, "notify", {"did": f"started playbook {decision.playbook}", "first": True}, now,
                        key=opened)

    def ask(self, unit: Unit, incident_id: str, decision: Decision, events: list[Event], now: datetime) -> None:
        approval_id = unit.request_approval(
            at=now, incident_id=incident_id, action=f"playbook:{decision.playbook}", target_key=decision.target.key,
            summary=f"Run playbook {decision.playbook} on {decision.target}?",
            payload={"decision": decision.model_dump(mode="json"),
                     "events": [e.model_dump(mode="json") for e in events[:20]]})
        self.p.book.add(unit, incident_id, now, f"approval requested: run playbook {decision.playbook}",
                        ApprovalData(approval_id=approval_id, playbook=decision.playbook))
        self.p.book.status(unit, incident_id, IncidentStatus.awaiting_ack, now,
                           "waiting for a person to acknowledge or approve")
        policy = self.p.policy()
        night = "" if policy.on_no_ack != "remediate" or policy.night is None else (
            f"; at night Tagent does it itself if nobody acknowledges within {format_duration(policy.ack_timeout)}")
        proposes = f"run playbook {decision.playbook}: approve it in the dashboard or press 2 on the call{night}"
        unit.outbox(incident_id, "notify", {"proposes": proposes}, now, key=f"ask:{approval_id}")
        if self.p.knobs.call_grace <= 0:
            unit.outbox(incident_id, "call", {"what": f"Tagent proposes to run playbook {decision.playbook}"}, now,
                        key=f"call:{incident_id}")

    def start(self, unit: Unit, incident_id: str, decision: Decision, events: list[Event], ruleset: RuleSet,
              now: datetime, *, dry_run: bool, out: Admitted) -> None:
        playbook = ruleset.playbooks.get(decision.playbook or "")
        if playbook is None:
            self.p.book.close(unit, incident_id, IncidentStatus.failed, now,
                              f"failed: playbook {decision.playbook} is not in the active rules")
            return
        policy, rule = self.p.policy(ruleset), ruleset.rules.get(decision.rule)
        routes, phones = routes_for(policy, decision.severity)
        ctx = rule_context(decision.rule, severity=decision.severity.value, mode=decision.mode.value,
                           playbook=decision.playbook, labels=dict(rule.metadata.labels) if rule else None,
                           description=rule.spec.description if rule else "")
        params = snapshot_of(playbook.spec, origin=decision, target=decision.target,
                             event=events[0] if events else None, rule=ctx, params=decision.params, routes=routes,
                             phones=phones, ack_timeout=policy.ack_timeout, severity=decision.severity.value)
        if unit.create_run(decision.id, playbook.name, decision.target, at=now, incident_id=incident_id,
                           decision_id=decision.id, params=params, rules_version=decision.rules_version,
                           dry_run=dry_run):
            self.p.book.note(unit, incident_id, now, f"playbook {playbook.name} started (run {decision.id})",
                             topic="run_started", run_id=decision.id)
            out.runs.append(decision.id)


def _remediates(ruleset: RuleSet, rule: str) -> bool:
    """Whether the rule's playbook changes the cluster (a mutating step in its steps)."""
    playbook = ruleset.playbook_for(rule) if rule in ruleset.rules else None
    return playbook is not None and any(
        (spec := CATALOG.get(step.action)) is not None and spec.mutates for step in playbook.spec.steps)
