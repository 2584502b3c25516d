"""The runner against the sandbox: order, journal, rendering, on_failure, retries, approvals, ownership."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from tagent.model import Decision, StepStatus
from tagent.playbooks import StepReport, rule_context
from tagent.store import RunRecord, RunStatus
from tests.actions.harness import CART, Env
from tests.playbooks.conftest import runner_for, spec

WL = {"namespace": "{{ target.namespace }}", "name": "{{ target.name }}", "kind": "{{ target.kind }}"}


def until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def decision(**kw: object) -> Decision:
    return Decision(rule="crashloop-restart", rules_version="abc123", target=CART, **kw)


def test_steps_run_in_order_and_are_journaled_before_and_after(env: Env) -> None:
    seen: list[StepReport] = []
    runner = runner_for(env, on_step=lambda run, report: seen.append(report))
    playbook = spec([
        {"name": "scale", "action": "kubernetes.scale", "with": {**WL, "replicas": "{{ params.replicas }}"}},
        {"name": "restart", "action": "kubernetes.rollout_restart", "with": WL},
        {"name": "wait", "action": "kubernetes.wait_healthy", "with": WL, "timeout": "20s"},
        {"name": "tell", "action": "notify.send", "with": {"message": "{{ target.name }} to {{ params.replicas }}"}},
    ], params={"replicas": {"type": "integer", "default": 3}})
    run = runner.create(playbook, playbook="scale-restart", origin=decision(), target=CART,
                        rule=rule_context("crashloop-restart"), routes=["slack-oncall"])
    outcome = runner.execute(run.id)
    assert outcome.status == RunStatus.succeeded, outcome.detail
    assert [s.name for s in seen] == ["scale", "restart", "wait", "tell"]
    assert all(s.result.status == StepStatus.ok for s in seen)
    assert env.kube.get_deployment("shop", "cart").replicas == 3
    journal = [(e.section, e.index, e.phase) for e in env.store.runs.journal(run.id) if e.section == "steps"]
    assert journal == [("steps", i, phase) for i in range(4) for phase in ("start", "finish")]
    assert outcome.verified is not None and outcome.verified.name == "wait"
    assert "cart to 3" in env.hooks.messages()[-1].text
    assert env.store.runs.get(run.id).status == RunStatus.succeeded  # type: ignore[union-attr]
    # executing a finished run again replays it and mutates nothing
    generation = env.kube.get_deployment("shop", "cart").generation
    again = runner.execute(run.id)
    assert again.status == RunStatus.succeeded and all(s.replayed for s in again.steps)
    assert env.kube.get_deployment("shop", "cart").generation == generation


def test_a_failed_step_runs_on_failure_and_stops(env: Env) -> None:
    seen: list[StepReport] = []
    runner = runner_for(env, on_step=lambda run, report: seen.append(report))
    env.sandbox.inject("crashloop", "shop", "cart")
    assert until(lambda: env.kube.get_deployment("shop", "cart").ready_replicas < 2)
    playbook = spec(
        [{"name": "wait", "action": "kubernetes.wait_healthy", "with": WL, "timeout": "1s"},
         {"name": "never", "action": "kubernetes.rollout_restart", "with": WL}],
        on_failure=[{"action": "notify.page", "with": {"message": "{{ target.name }} did not recover"}}])
    run = runner.create(playbook, playbook="p", origin=decision(), target=CART, routes=["slack-oncall"],
                        phones=["oncall-phone"])
    outcome = runner.execute(run.id)
    assert outcome.status == RunStatus.failed and outcome.failed_step == "wait"
    assert "not healthy after 1s" in outcome.detail
    assert [(s.section, s.name) for s in seen] == [("steps", "wait"), ("on_failure", "on_failure[0]")]
    assert seen[-1].result.status == StepStatus.ok and len(env.twilio.calls) == 1
    assert env.store.runs.resume_point(run.id) == 1  # "never" did not start


def test_render_error_fails_the_step_with_a_sentence(env: Env) -> None:
    runner = runner_for(env)
    playbook = spec([{"name": "tell", "action": "notify.send", "with": {"message": "{{ event.labels.nope }}"}}])
    outcome = runner.execute(runner.create(playbook, playbook="p", origin="test:alice", target=CART).id)
    assert outcome.status == RunStatus.failed
    assert "cannot render parameters" in outcome.steps[0].result.detail and "nope" in outcome.steps[0].result.detail


def test_transient_failures_are_retried_with_backoff(env: Env) -> None:
    runner = runner_for(env)
    env.hooks.fail_next(3, 503)  # 2 apprise attempts per try: the first try fails, the second delivers
    playbook = spec([{"name": "tell", "action": "notify.send", "retries": 2, "with": {"message": "hi"}}])
    outcome = runner.execute(runner.create(playbook, playbook="p", origin="test:alice", target=CART,
                                           routes=["slack-oncall"]).id)
    assert outcome.status == RunStatus.succeeded, outcome.detail
    assert outcome.steps[0].result.data["tries"] == 2


def test_approval_parks_the_run_and_the_decision_resumes_it(env: Env) -> None:
    runner = runner_for(env)
    playbook = spec([{"name": "ask", "action": "approval.request", "with": {"message": "restart cart?"}},
                     {"name": "restart", "action": "kubernetes.rollout_restart", "with": WL}])
    run = runner.create(playbook, playbook="p", origin=decision(), target=CART, incident_id="inc1")
    first = runner.execute(run.id)
    assert first.status == RunStatus.awaiting_approval
    pending = env.store.approvals.pending(run_id=run.id)
    assert len(pending) == 1 and pending[0].incident_id == "inc1"
    assert runner.execute(run.id).status == RunStatus.awaiting_approval  # still undecided: same approval
    assert len(env.store.approvals.pending(run_id=run.id)) == 1
    env.store.approvals.decide_by_id(pending[0].id, approve=True, by="alice", at=env.deps.clock())
    done = runner.execute(run.id)
    assert done.status == RunStatus.succeeded, done.detail
    assert done.steps[0].result.detail == "approved by alice"


def test_a_denied_approval_fails_the_run(env: Env) -> None:
    runner = runner_for(env)
    playbook = spec([{"name": "ask", "action": "approval.request"},
                     {"name": "restart", "action": "kubernetes.rollout_restart", "with": WL}])
    run = runner.create(playbook, playbook="p", origin=decision(), target=CART)
    runner.execute(run.id)
    approval = env.store.approvals.pending(run_id=run.id)[0]
    env.store.approvals.decide_by_id(approval.id, approve=False, by="bob", at=env.deps.clock(), reason="not now")
    outcome = runner.execute(run.id)
    assert outcome.status == RunStatus.failed and "denied by bob: not now" in outcome.detail
    assert env.store.audit.list() == []


def test_a_run_owned_by_a_live_engine_is_not_run_twice(env: Env) -> None:
    playbook = spec([{"name": "restart", "action": "kubernetes.rollout_restart", "with": WL}])
    first = runner_for(env, owner="engine-a", stale_after=60)
    run = first.create(playbook, playbook="p", origin=decision(), target=CART)
    assert env.store.runs.claim(run.id, "engine-a", now=env.deps.clock())
    other = runner_for(env, owner="engine-b", stale_after=60)
    blocked = other.execute(run.id)
    assert not blocked.claimed and blocked.status == RunStatus.running
    assert env.store.runs.journal(run.id) == []
    # once engine-a's heartbeat is stale, engine-b takes over
    later = runner_for(env, owner="engine-b", stale_after=60,
                       clock=lambda: env.deps.clock() + timedelta(seconds=120))
    assert later.execute(run.id).status == RunStatus.succeeded


def test_on_step_sees_the_run(env: Env) -> None:
    runs: list[RunRecord] = []
    runner = runner_for(env, on_step=lambda run, report: runs.append(run))
    playbook = spec([{"action": "wait", "with": {"duration": "10ms"}}])
    run = runner.create(playbook, playbook="p", origin="test:alice", target=CART, incident_id="inc9")
    runner.execute(run.id)
    assert runs and runs[0].incident_id == "inc9"


def test_in_dry_run_nothing_waits_for_a_change_that_was_not_made(env: Env) -> None:
    """Read-only mode on a crash-looping workload: the restart is only described, so waiting for health would
    time out and page for every incident; the wait is skipped and the run says what it would have done."""
    env.sandbox.inject("crashloop", "shop", "cart")
    assert until(lambda: env.kube.get_deployment("shop", "cart").ready_replicas < 2)
    dry = env.variant(dry_run=True)
    seen: list[StepReport] = []
    runner = runner_for(dry, on_step=lambda run, report: seen.append(report))
    playbook = spec([{"name": "restart", "action": "kubernetes.rollout_restart", "with": WL},
                     {"name": "wait", "action": "kubernetes.wait_healthy", "with": WL, "timeout": "2m"},
                     {"name": "tell", "action": "notify.send", "with": {"message": "{{ target.name }}"}}])
    generation = env.kube.get_deployment("shop", "cart").generation
    run = runner.create(playbook, playbook="p", origin=decision(), target=CART, routes=["slack-oncall"], dry_run=True)
    outcome = runner.execute(run.id)
    assert outcome.status == RunStatus.succeeded, outcome.detail
    assert [s.result.status for s in seen] == [StepStatus.dry_run, StepStatus.skipped, StepStatus.ok]
    assert "nothing to wait for" in seen[1].result.detail
    assert env.kube.get_deployment("shop", "cart").generation == generation
