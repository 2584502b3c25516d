"""The 2 AM story end to end on the default rule pack: detect -> guard -> act or ask -> notify/call ->
Night Mode -> resolve -> post-mortem. Every message really goes through apprise to local Slack/Teams
receivers and every call through the twilio library to a local Twilio API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tagent.model import Decision, Event, EventSource, IncidentStatus, Mode, Severity, WorkloadRef
from tagent.notify import CallIntent, read_gather
from tagent.policy import load_ruleset
from tagent.store import RunStatus
from tests.escalation.conftest import DAY, ROOT, Flow

PAYMENT = WorkloadRef(namespace="shop", name="payment-service")
FRONTEND = WorkloadRef(namespace="shop", name="frontend")


def until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def crashloop(flow: Flow) -> tuple[Decision, Event]:
    flow.env.sandbox.inject("crashloop", "shop", "payment-service")
    until(lambda: flow.env.kube.get_deployment("shop", "payment-service").ready_replicas < 2)
    pod = next(p for p in flow.env.kube.list_pods("shop", {"app": "payment-service"}) if not p.ready)
    event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=PAYMENT,
                  labels={"pod": pod.name}, values={"restarts": 4}, message=f"back-off restarting {pod.name}",
                  observed_at=flow.clock())
    decision = Decision(rule="crashloop-restart", rules_version="c0ffee1", target=PAYMENT, event_ids=[event.id],
                        playbook="restart-workload", params={"reason": "CrashLoopBackOff (4 restarts)"},
                        mode=Mode.auto, severity=Severity.critical, decided_at=flow.clock())
    return decision, event


def error_spike(flow: Flow) -> tuple[Decision, Event]:
    flow.env.sandbox.inject("bad-deploy", "shop", "frontend")
    until(lambda: flow.env.kube.rollout_status("shop", "frontend").revision >= 2
          and flow.env.kube.rollout_status("shop", "frontend").complete)
    event = Event(source=EventSource.logs, kind="LogPattern", reason="error-spike-rollback#0", target=FRONTEND,
                  values={"count": 37}, message='GET /api/cart HTTP/1.1" 500 ', observed_at=flow.clock())
    decision = Decision(rule="error-spike-rollback", rules_version="c0ffee1", target=FRONTEND, event_ids=[event.id],
                        playbook="rollback-workload", params={"reason": "37 HTTP 500 in the logs within 1m"},
                        mode=Mode.approve, severity=Severity.critical, decided_at=flow.clock())
    return decision, event


def test_auto_mode_crash_loop_is_restarted_resolved_and_written_up(flow: Flow) -> None:
    decision, event = crashloop(flow)
    incident = flow.manager.handle(decision, [event])
    assert incident.status in (IncidentStatus.open, IncidentStatus.mitigating)
    assert flow.manager.drain(30)
    done = flow.manager.store.incidents.get(incident.id)
    assert done is not None and done.status == IncidentStatus.resolved, [e.summary for e in done.timeline]  # type: ignore[union-attr]
    kinds = [e.kind for e in done.timeline]
    for kind in ("event", "decision", "guard", "step", "notification", "status"):
        assert kind in kinds
    assert done.mitigated_at is not None and done.resolved_at is not None and done.acknowledged_at is None
    steps = [e.data for e in done.timeline if e.kind == "step"]
    assert [s["action"] for s in steps] == ["kubernetes.rollout_restart", "kubernetes.wait_healthy"]
    assert steps[0]["command"] == "kubectl rollout restart Deployment/payment-service -n shop"
    assert flow.env.kube.get_deployment("shop", "payment-service").ready_replicas == 2
    slack = [m.text for m in flow.env.hooks.messages()]
    assert any("resolved" in t.lower() and "payment-service" in t for t in slack)
    assert any("crashloop-restart" in m.title for m in flow.teams.messages())
    assert flow.env.twilio.calls == []  # fixed automatically: nobody woken up
    pm = flow.manager.store.postmortems.get(incident.id)
    assert pm is not None and "kubectl rollout restart" in pm.markdown and "c0ffee1" in pm.markdown
    assert "| resolved |" in pm.markdown and "n/a" not in pm.markdown.split("| resolved |")[1].split("\n")[0]
    # times in the team's zone (the default pack's escalation policy: Asia/Kolkata), not UTC
    assert " IST" in pm.markdown and " UTC" not in pm.markdown, pm.markdown


def test_night_mode_no_ack_means_tagent_fixes_it(flow: Flow) -> None:
    decision, event = error_spike(flow)
    incident = flow.manager.handle(decision, [event])
    flow.sent()
    assert incident.status == IncidentStatus.awaiting_ack
    assert len(flow.env.twilio.calls) == 1 and flow.env.twilio.calls[0].to == "+15005550006"
    assert any("approve" in m.text for m in flow.env.hooks.messages())
    assert flow.tick(240).night_remediations == 0  # 4 min: still waiting
    assert flow.tick(61).night_remediations == 1  # past the 5 min ack timeout
    assert flow.manager.drain(30)
    done = flow.manager.store.incidents.get(incident.id)
    assert done is not None
    assert done.status == IncidentStatus.resolved, [e.summary for e in done.timeline]
    assert any("Night Mode" in e.summary for e in done.timeline if e.kind == "approval")
    assert "kubectl rollout undo" in (flow.manager.store.postmortems.get(incident.id).markdown)  # type: ignore[union-attr]
    assert len(flow.env.twilio.calls) == 1  # one call, nobody answered, fixed anyway


@pytest.mark.parametrize("flow", [{"start": DAY}], indirect=True)
def test_by_day_it_waits_and_the_phone_digit_two_fixes_it_now(flow: Flow) -> None:
    decision, event = error_spike(flow)
    incident = flow.manager.handle(decision, [event])
    assert flow.tick(3600).night_remediations == 0
    assert flow.manager.store.incidents.get(incident.id).status == IncidentStatus.awaiting_ack  # type: ignore[union-attr]
    call = flow.env.twilio.calls[0]
    url, params, signature = flow.env.twilio.gather_callback(call.sid, "2")
    gather = read_gather(flow.env.settings.twilio_auth_token, url, params, signature,  # type: ignore[arg-type]
                         url.rsplit("/", 1)[1])
    assert gather.intent == CallIntent.fix_now and gather.incident_id == incident.id
    flow.manager.approve(gather.incident_id, by=f"phone:{gather.call_sid}")
    assert flow.manager.drain(30)
    done = flow.manager.store.incidents.get(incident.id)
    assert done is not None and done.status == IncidentStatus.resolved
    assert done.acknowledged_at is not None


def test_an_acknowledgement_at_night_stops_night_mode(flow: Flow) -> None:
    decision, event = error_spike(flow)
    incident = flow.manager.handle(decision, [event])
    flow.manager.acknowledge(incident.id, by="phone:alice")
    assert flow.tick(900).night_remediations == 0
    assert flow.manager.store.runs.list(incident_id=incident.id) == []
    flow.manager.deny(incident.id, by="alice", reason="looking at it myself")
    assert flow.tick(900).night_remediations == 0
    final = flow.manager.store.incidents.get(incident.id)
    assert final is not None and final.status == IncidentStatus.open and final.acknowledged_at is not None
    assert flow.env.store.audit.list() == []  # nothing was mutated


@pytest.mark.parametrize("flow", [{"flap_limit": 1}], indirect=True)
def test_a_fingerprint_that_comes_back_after_its_cooldown_escalates(flow: Flow) -> None:
    decision, event = crashloop(flow)
    first = flow.manager.handle(decision, [event])
    assert flow.manager.drain(30)
    assert flow.manager.store.incidents.get(first.id).status == IncidentStatus.resolved  # type: ignore[union-attr]
    flow.clock.advance(60)
    again, event2 = crashloop(flow)
    echo = flow.manager.handle(again, [event2])  # inside the cooldown: the fix settles, nobody is told
    flow.sent()
    assert echo.id == first.id and flow.env.twilio.calls == []
    assert any(e.kind == "note" and e.data.get("topic") == "echo" for e in echo.timeline)
    flow.clock.advance(600)  # the cooldown is over and the fault is still there
    third, event3 = crashloop(flow)
    second = flow.manager.handle(third, [event3])
    flow.sent()
    assert second.id != first.id
    assert any(e.kind == "note" and e.data.get("incident_id") == first.id for e in second.timeline)  # linked
    assert any(e.kind == "note" and "flapping" in e.summary for e in second.timeline)
    assert second.status == IncidentStatus.awaiting_ack  # a person decides this time
    assert len(flow.env.twilio.calls) == 1  # the second time a person is called
    assert flow.manager.store.runs.list(incident_id=second.id) == []


def test_when_every_channel_fails_the_message_is_retried_later(flow: Flow) -> None:
    flow.env.hooks.fail_next(2, 503)  # both apprise attempts on both routes fail
    flow.teams.fail_next(2, 503)
    decision, event = error_spike(flow)
    incident = flow.manager.handle(decision, [event])
    flow.sent()
    pending = [n for n in flow.env.store.notifications.list(incident_id=incident.id) if n.status.value == "pending"]
    assert len(pending) == 2
    assert flow.tick(5).notifications_retried == 0  # not due yet
    assert flow.tick(30).notifications_retried >= 1
    assert any("approve" in m.text for m in flow.env.hooks.messages())


def test_a_failed_playbook_fails_the_incident_and_pages(flow: Flow) -> None:
    decision, event = crashloop(flow)
    flow.env.kube.apps.delete_namespaced_deployment("payment-service", "shop")  # nothing left to restart
    incident = flow.manager.handle(decision, [event])
    assert flow.manager.drain(30)
    done = flow.manager.store.incidents.get(incident.id)
    assert done is not None and done.status == IncidentStatus.failed
    run = flow.manager.store.runs.list(incident_id=incident.id)[0]
    assert run.status == RunStatus.failed
    assert len(flow.env.twilio.calls) == 1  # on_failure paged; the manager did not call a second time
    pm = flow.manager.store.postmortems.get(incident.id)
    assert pm is not None and "a person must look" in pm.markdown


def bad_deploy_decision(flow: Flow) -> tuple[Decision, Event]:
    event = Event(source=EventSource.metrics, kind="Metric", reason="error_rate", target=FRONTEND,
                  values={"value": 0.4}, observed_at=flow.clock())
    decision = Decision(rule="bad-deploy-rollback", rules_version="c0ffee1", target=FRONTEND, event_ids=[event.id],
                        playbook="rollback-workload", params={"reason": "error rate 0.4 after a rollout"},
                        mode=Mode.auto, severity=Severity.critical, decided_at=flow.clock())
    return decision, event


def test_an_automatic_rule_supersedes_a_question_on_the_same_workload(flow: Flow) -> None:
    """The bad deploy's 500s reached the approve-mode log rule first; the automatic bad-deploy rule must
    not wait for that approval: the question is withdrawn and the rollback runs once."""
    spike, spike_event = error_spike(flow)
    asked = flow.manager.handle(spike, [spike_event])
    assert asked.status == IncidentStatus.awaiting_ack
    decision, event = bad_deploy_decision(flow)
    acting = flow.manager.handle(decision, [event])
    assert acting.id != asked.id and acting.rule == "bad-deploy-rollback"
    assert flow.manager.drain(30)
    withdrawn = flow.manager.store.incidents.get(asked.id)
    assert withdrawn is not None and withdrawn.status == IncidentStatus.superseded
    assert any("superseded" in e.summary for e in withdrawn.timeline)
    assert flow.manager.store.approvals.pending(incident_id=asked.id) == []
    done = flow.manager.store.incidents.get(acting.id)
    assert done is not None and done.status == IncidentStatus.resolved
    runs = flow.manager.store.runs.list(incident_id=acting.id) + flow.manager.store.runs.list(incident_id=asked.id)
    assert len(runs) == 1  # one rollback, not two
    # Night Mode later finds nothing to approve for the withdrawn question
    assert flow.tick(600).night_remediations == 0


def test_an_automatic_rule_that_only_tells_withdraws_no_question(flow: Flow, tmp_path: Path) -> None:
    """An automatic rule whose playbook changes nothing (it only notifies) matched the workload whose
    rollback waits for approval: the question stays, the new decision joins that incident, nothing runs."""
    pack = tmp_path / "pack"
    for d in ("rules", "playbooks"):
        (pack / d).mkdir(parents=True)
        for f in (ROOT / d).glob("*.yaml"):
            (pack / d / f.name).write_text(f.read_text())
    (pack / "rules" / "tell.yaml").write_text(
        "apiVersion: tagent.io/v1\nkind: Rule\nmetadata: {name: errors-tell}\nspec:\n"
        "  severity: warning\n  when: {logs: {pattern: ' 500 ', count: '> 5', window: 1m}}\n"
        "  then: {playbook: tell-only}\n  mode: auto\n")
    (pack / "playbooks" / "tell.yaml").write_text(
        "apiVersion: tagent.io/v1\nkind: Playbook\nmetadata: {name: tell-only}\nspec:\n  steps:\n"
        "    - {name: tell, action: notify.send, with: {message: errors on the frontend}}\n")
    ruleset = load_ruleset([pack / "rules", pack / "playbooks"], promtool=None)
    flow.manager.p.rules = lambda: ruleset
    spike, spike_event = error_spike(flow)
    asked = flow.manager.handle(spike, [spike_event])
    assert asked.status == IncidentStatus.awaiting_ack
    tell = Decision(rule="errors-tell", rules_version="c0ffee1", target=FRONTEND, event_ids=[spike_event.id],
                    playbook="tell-only", mode=Mode.auto, severity=Severity.warning, decided_at=flow.clock())
    joined = flow.manager.handle(tell, [spike_event])
    assert joined.id == asked.id
    assert flow.manager.drain(30)
    still = flow.manager.store.incidents.get(asked.id)
    assert still is not None and still.status == IncidentStatus.awaiting_ack
    assert len(flow.manager.store.approvals.pending(incident_id=asked.id)) == 1
    assert flow.manager.store.runs.list(incident_id=asked.id) == []


def test_another_rule_on_a_workload_being_repaired_joins_its_incident_and_is_recorded(flow: Flow) -> None:
    decision, event = crashloop(flow)
    first = flow.manager.handle(decision, [event])
    echo = Event(source=EventSource.kubernetes, kind="PodState", reason="OOMKilled", target=PAYMENT,
                 observed_at=flow.clock())
    other = Decision(rule="oomkilled-restart", rules_version="c0ffee1", target=PAYMENT, event_ids=[echo.id],
                     playbook="restart-and-notify", mode=Mode.auto, severity=Severity.warning,
                     decided_at=flow.clock())
    joined = flow.manager.handle(other, [echo])
    assert joined.id == first.id
    assert flow.manager.drain(30)
    (record,) = [r for r in flow.manager.store.decisions.list(rule="oomkilled-restart")]
    assert record.verdict is not None and record.verdict.reason == "joined_incident"
    assert not record.verdict.allowed
    assert len(flow.manager.store.runs.list(incident_id=first.id)) == 1


@pytest.mark.parametrize("flow", [{"call_grace": 60.0}], indirect=True)
def test_the_phone_rings_only_after_the_grace_period_and_only_once(flow: Flow) -> None:
    decision, event = error_spike(flow)
    incident = flow.manager.handle(decision, [event])
    flow.sent()
    assert incident.status == IncidentStatus.awaiting_ack
    assert any("approve" in m.text for m in flow.env.hooks.messages())  # told at once
    flow.tick(30)
    assert flow.env.twilio.calls == []  # an automatic fix may still come: nobody woken up yet
    flow.tick(31)
    assert len(flow.env.twilio.calls) == 1
    flow.tick(30)
    assert len(flow.env.twilio.calls) == 1


@pytest.mark.parametrize("flow", [{"call_grace": 60.0}], indirect=True)
def test_a_question_superseded_within_the_grace_period_wakes_nobody(flow: Flow) -> None:
    spike, spike_event = error_spike(flow)
    flow.manager.handle(spike, [spike_event])
    decision, event = bad_deploy_decision(flow)
    flow.manager.handle(decision, [event])
    assert flow.manager.drain(30)
    flow.tick(120)
    assert flow.env.twilio.calls == []


def test_a_step_approval_answered_runs_the_rest_once_however_often_it_ticks(flow: Flow, tmp_path: Path) -> None:
    """The run waits at `approval.request`; once approved, ticks must not start it again and again."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(
        "apiVersion: tagent.io/v1\nkind: Rule\nmetadata: {name: crashloop-restart}\nspec:\n"
        "  severity: warning\n  when: {kubernetes: {reason: CrashLoopBackOff}}\n"
        "  then: {playbook: ask-then-restart}\n  mode: auto\n")
    (tmp_path / "playbooks" / "p.yaml").write_text(
        "apiVersion: tagent.io/v1\nkind: Playbook\nmetadata: {name: ask-then-restart}\nspec:\n  steps:\n"
        "    - {name: ask, action: approval.request, with: {message: restart now}}\n"
        "    - name: restart\n      action: kubernetes.rollout_restart\n"
        "      with: {namespace: '{{ target.namespace }}', name: '{{ target.name }}'}\n")
    flow.manager.p.rules = lambda: load_ruleset([tmp_path / "rules", tmp_path / "playbooks"], promtool=None)
    decision, event = crashloop(flow)
    incident = flow.manager.handle(decision.model_copy(update={"playbook": "ask-then-restart"}), [event])
    until(lambda: flow.manager.store.approvals.pending(incident_id=incident.id) != [])
    generation = flow.env.kube.get_deployment("shop", "payment-service").generation
    flow.manager.approve(incident.id, by="alice")
    for _ in range(8):
        flow.tick(1)
        time.sleep(0.05)
    assert flow.manager.drain(30)
    (run,) = flow.manager.store.runs.list(incident_id=incident.id)
    starts = [e for e in flow.manager.store.runs.journal(run.id)
              if e.section == "steps" and e.phase == "start" and e.index == 1]
    assert len(starts) == 1, starts
    assert flow.env.kube.get_deployment("shop", "payment-service").generation == generation + 1
