"""The lifecycle's rules on real parts (tests/escalation/conftest.py): rate-limited decisions, cooldown
refusals, the state machine and the typed timeline."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tagent.errors import ValidationError
from tagent.incidents.states import check, may
from tagent.model import Decision, Event, EventSource, IncidentStatus, Mode, Severity, TimelineEntry, WorkloadRef
from tagent.model.timeline import EventData, NoteData, OtherData, StepData
from tagent.playbooks import rule_context, snapshot_of
from tagent.store import RunStatus
from tests.escalation.conftest import Flow
from tests.escalation.test_flow import PAYMENT, crashloop

CART = WorkloadRef(namespace="shop", name="cart")


def _crashloop_on(flow: Flow, target: WorkloadRef) -> tuple[Decision, Event]:
    event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=target,
                  values={"restarts": 4}, message="back-off restarting", observed_at=flow.clock())
    decision = Decision(rule="crashloop-restart", rules_version="c0ffee1", target=target, event_ids=[event.id],
                        playbook="restart-workload", mode=Mode.auto, severity=Severity.critical,
                        decided_at=flow.clock())
    return decision, event


@pytest.mark.parametrize("flow", [{"settings": {"blast_radius_workloads_per_window": 1,
                                                "restart_min_interval": 0}}], indirect=True)
def test_a_rate_limited_decision_takes_no_cooldown_and_is_retried_when_the_limit_allows(flow: Flow) -> None:
    decision, event = crashloop(flow)
    first = flow.manager.handle(decision, [event])
    assert flow.manager.drain(30)
    assert flow.manager.get(first.id).status == IncidentStatus.resolved
    # payment-service was mutated: a second workload now exceeds the 1-workload blast radius
    limited, echo = _crashloop_on(flow, CART)
    deferred = flow.manager.handle(limited, [echo])
    (record,) = flow.manager.store.decisions.list(target=CART)
    assert record.verdict is not None and record.verdict.reason == "blast_radius_workloads"
    assert flow.manager.store.cooldowns.get("crashloop-restart", CART.key) is None  # no cooldown of its own
    assert deferred.status == IncidentStatus.open
    assert any(e.kind == "note" and e.data.get("topic") == "deferred" for e in deferred.timeline)
    assert flow.manager.store.runs.list(incident_id=deferred.id) == []
    assert flow.tick(20).deferred_retried == 0  # not due yet (every 30 s)
    assert flow.tick(15).deferred_retried == 1  # due, but the limit still holds: deferred again
    assert flow.manager.store.runs.list(incident_id=deferred.id) == []
    report = flow.tick(600)  # the blast-radius window is over
    assert report.deferred_retried == 1
    assert flow.manager.drain(30)
    (run,) = flow.manager.store.runs.list(incident_id=deferred.id)
    assert run.status == RunStatus.succeeded
    assert flow.manager.store.cooldowns.get("crashloop-restart", CART.key) is not None
    assert flow.manager.get(deferred.id).status == IncidentStatus.resolved


def test_cooldown_refusals_tell_nobody(flow: Flow) -> None:
    decision, event = crashloop(flow)
    first = flow.manager.handle(decision, [event])
    assert flow.manager.drain(30)
    told = len(flow.env.hooks.messages())
    flow.clock.advance(5)  # the fault comes back after the fix
    for _ in range(5):  # re-detections of a fixed fault, inside the rule's cooldown
        again, echo = _crashloop_on(flow, PAYMENT)
        flow.manager.handle(again, [echo])
        flow.clock.advance(5)
    flow.sent()
    assert len(flow.env.hooks.messages()) == told, [m.text for m in flow.env.hooks.messages()[told:]]
    assert flow.env.twilio.calls == []
    refused = [r for r in flow.manager.store.decisions.list(target=PAYMENT) if r.decision.id != decision.id]
    assert {r.verdict.reason for r in refused if r.verdict} == {"cooldown"}  # recorded as such, told nobody
    assert [i.id for i in flow.manager.store.incidents.list(target=PAYMENT)] == [first.id]  # they joined it
    assert sum(e.data.get("topic") == "echo" for e in flow.manager.get(first.id).timeline) == 5


def test_the_state_machine_refuses_to_reopen_a_closed_incident() -> None:
    assert may(IncidentStatus.open, IncidentStatus.mitigating)
    assert may(IncidentStatus.awaiting_ack, IncidentStatus.superseded)
    assert not may(IncidentStatus.mitigating, IncidentStatus.superseded)
    for closed in (IncidentStatus.resolved, IncidentStatus.failed, IncidentStatus.superseded):
        assert closed.closed
        with pytest.raises(ValidationError, match="cannot go from"):
            check(closed, IncidentStatus.open)


def test_timeline_rows_of_every_age_parse() -> None:
    old_event = TimelineEntry(kind="event", summary="crash", data={"id": "e1", "source": "kubernetes",
                                                                   "kind": "PodState", "reason": "CrashLoopBackOff"})
    typed = old_event.typed()
    assert isinstance(typed, EventData) and typed.event_kind == "PodState" and typed.reason == "CrashLoopBackOff"
    step = TimelineEntry(kind="step", summary="restart: ok", data={"run_id": "r", "step_key": "r:steps:0",
                                                                   "action": "kubernetes.rollout_restart"})
    assert isinstance(step.typed(), StepData)
    assert isinstance(TimelineEntry(kind="note", summary="n", data={"topic": "joined"}).typed(), NoteData)
    broken = TimelineEntry(kind="step", summary="?", data={"status": "ok"})  # no run id: an older shape
    assert isinstance(broken.typed(), OtherData) and broken.typed().data() == {"status": "ok"}
    future = TimelineEntry(kind="forecast", summary="?", data={"x": 1})
    assert isinstance(future.typed(), OtherData) and future.typed().kind == "forecast"


def test_a_run_whose_owner_stopped_beating_is_taken_over_at_start_and_a_live_one_is_not(flow: Flow) -> None:
    decision, event = crashloop(flow)
    spec = flow.ruleset.playbooks["restart-workload"].spec
    params = snapshot_of(spec, origin=decision, target=PAYMENT, event=event, rule=rule_context("crashloop-restart"))
    runs = flow.env.store.runs
    old = flow.clock.now - timedelta(seconds=120)  # four times the 30 s after which a heartbeat counts as gone
    gone = runs.create("restart-workload", PAYMENT, at=old, run_id="run-of-a-dead-engine", params=params,
                       owner="dead-engine")
    alive = runs.create("restart-workload", CART, at=flow.clock.now, run_id="run-of-a-live-engine",
                        params=params, owner="live-engine")
    started = time.monotonic()
    assert set(flow.manager.resume()) == {gone.id}  # at start, at once: not after another minute
    assert flow.manager.drain(30)
    taken = runs.get(gone.id)
    assert taken is not None and taken.status == RunStatus.succeeded and taken.owner == flow.manager.supervisor.owner
    assert time.monotonic() - started < 30
    still = runs.get(alive.id)
    assert still is not None and still.status == RunStatus.running and still.owner == "live-engine"
    assert flow.manager.tick(flow.clock.now).runs_continued == 0  # its owner beats: nobody takes it
