"""Action-level verdicts: rate limits, blast radius, rollback loops, restart backoff, the ledger and audit log."""

from __future__ import annotations

import threading

import pytest

from tagent.guard import Guard, Reason, Verdict, VerdictMode
from tagent.model import StepResult, StepStatus
from tagent.store import ActionStatus, Store
from tests.guard.helpers import decision, ref, settings, workload
from tests.store.conftest import FakeClock

RESTART, UNDO, SCALE = "kubernetes.rollout_restart", "kubernetes.rollout_undo", "kubernetes.scale"
OK = StepResult(status=StepStatus.ok, detail="done", command="kubectl scale deployment/api --replicas=2 -n shop")


def _done(guard: Guard, verdict: Verdict) -> None:
    assert verdict.allowed, verdict.detail
    guard.record_action(verdict, OK)


def test_non_mutating_actions_pass_and_are_recorded(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(rate_limit_global_per_hour=0), clock)
    verdict = guard.check_action(decision(), "kubernetes.wait_healthy", mutates=False, target=ref())
    assert verdict.allowed and verdict.reason == Reason.not_mutating and verdict.action_id is None
    guard.record_action(verdict, OK)
    assert store.audit.list() == []  # the audit log is for mutations
    (v,) = store.decisions.verdicts()
    assert v.action == "kubernetes.wait_healthy" and v.reason == "not_mutating"


def test_global_rate_limit_per_hour(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(rate_limit_global_per_hour=3), clock)
    for i in range(3):
        _done(guard, guard.check_action(decision(), SCALE, mutates=True, target=ref(f"w{i}", f"ns{i}")))
        clock.advance(60)
    refused = guard.check_action(decision(), SCALE, mutates=True, target=ref("w9", "ns9"))
    assert not refused.allowed and refused.reason == Reason.rate_limit_global and "3 mutations" in refused.detail
    clock.advance(3600 - 3 * 60 + 1)  # the first one leaves the hour
    assert guard.check_action(decision(), SCALE, mutates=True, target=ref("w9", "ns9")).allowed


def test_namespace_rate_limit(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(rate_limit_namespace_per_hour=2), clock)
    for name in ("a", "b"):
        _done(guard, guard.check_action(decision(), SCALE, mutates=True, target=ref(name, "shop")))
    refused = guard.check_action(decision(), SCALE, mutates=True, target=ref("c", "shop"))
    assert refused.reason == Reason.rate_limit_namespace and "namespace shop" in refused.detail
    assert guard.check_action(decision(), SCALE, mutates=True, target=ref("c", "billing")).allowed


def test_released_actions_do_not_count(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(rate_limit_global_per_hour=1), clock)
    first = guard.check_action(decision(), SCALE, mutates=True, target=ref())
    failed = StepResult(status=StepStatus.failed, detail="API unreachable before the patch")
    guard.record_action(first, failed, mutated=False)
    assert store.actions.list()[0].status == ActionStatus.released
    second = guard.check_action(decision(), SCALE, mutates=True, target=ref())
    assert second.allowed
    guard.record_action(second, StepResult(status=StepStatus.failed, detail="patch rejected halfway"))
    assert store.actions.get(second.action_id or "") is not None
    assert not guard.check_action(decision(), SCALE, mutates=True, target=ref()).allowed  # failed counts


def test_blast_radius_pods_at_once(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(blast_radius_pod_fraction=0.5), clock)
    w = workload(replicas=4)  # at most 2 of 4 pods disrupted at once
    too_many = guard.check_action(decision(), "kubernetes.delete_pod", mutates=True, target=w.ref, workload=w,
                                  pods_affected=3)
    assert too_many.reason == Reason.blast_radius_pods and "3 of 4 pods" in too_many.detail
    first = guard.check_action(decision(), "kubernetes.delete_pod", mutates=True, target=w.ref, workload=w)
    second = guard.check_action(decision(), "kubernetes.delete_pod", mutates=True, target=w.ref, workload=w)
    assert first.allowed and second.allowed
    third = guard.check_action(decision(), "kubernetes.delete_pod", mutates=True, target=w.ref, workload=w)
    assert third.reason == Reason.blast_radius_pods  # two deletions still in flight
    guard.record_action(first, OK)
    assert guard.check_action(decision(), "kubernetes.delete_pod", mutates=True, target=w.ref, workload=w).allowed
    single = workload(ref("solo"), replicas=1)  # one pod: disrupting it is the only way to act
    assert guard.check_action(decision(), RESTART, mutates=True, target=single.ref, workload=single).allowed


def test_blast_radius_workloads_per_window(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(blast_radius_workloads_per_window=2, blast_radius_window=600), clock)
    _done(guard, guard.check_action(decision(), SCALE, mutates=True, target=ref("a")))
    _done(guard, guard.check_action(decision(), SCALE, mutates=True, target=ref("b")))
    third = guard.check_action(decision(), SCALE, mutates=True, target=ref("c"))
    assert third.reason == Reason.blast_radius_workloads and "2 workloads" in third.detail
    assert guard.check_action(decision(), SCALE, mutates=True, target=ref("a")).allowed  # already in the set
    clock.advance(601)
    assert guard.check_action(decision(), SCALE, mutates=True, target=ref("c")).allowed


def test_rollback_loop_guard(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(max_rollbacks_per_hour=3), clock)
    for _ in range(3):
        _done(guard, guard.check_action(decision(), UNDO, mutates=True, target=ref()))
        clock.advance(600)
    loop = guard.check_action(decision(), UNDO, mutates=True, target=ref())
    assert loop.reason == Reason.rollback_loop and "rolled back 3 times" in loop.detail
    assert guard.check_action(decision(), UNDO, mutates=True, target=ref("web")).allowed  # per workload
    clock.advance(1801)  # the first rollback (at T0; now is T0+30m) is now more than an hour old
    assert guard.check_action(decision(), UNDO, mutates=True, target=ref()).allowed


def test_restarts_respect_the_kubelet_backoff(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(restart_min_interval=300), clock)
    _done(guard, guard.check_action(decision(), RESTART, mutates=True, target=ref()))
    clock.advance(100)
    early = guard.check_action(decision(), "kubernetes.delete_pod", mutates=True, target=ref())
    assert early.reason == Reason.restart_backoff and "restarted 100s ago" in early.detail
    assert guard.check_action(decision(), SCALE, mutates=True, target=ref()).allowed  # not a restart
    clock.advance(200)
    assert guard.check_action(decision(), RESTART, mutates=True, target=ref()).allowed


def test_protected_namespace_is_refused_for_people_too(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(), clock)
    verdict = guard.check_action("chat:alice", "kubernetes.delete_pod", mutates=True, target=ref("dns", "kube-system"))
    assert not verdict.allowed and verdict.reason == Reason.protected_namespace and verdict.actor == "chat:alice"
    with pytest.raises(ValueError, match="allowed action-level verdict"):
        guard.record_action(verdict, OK)


def test_record_action_writes_the_audit_log(store: Store, clock: FakeClock) -> None:
    store.rules.record("f" * 40, "active", at=clock.now)  # type: ignore[arg-type]
    guard = Guard(store, settings(), clock)
    verdict = guard.check_action("chat:bob", SCALE, mutates=True, target=ref(), run_id="run-7")
    assert verdict.rules_version == "f" * 40  # people's actions are recorded under the active rules
    clock.advance(2)
    guard.record_action(verdict, OK, incident_id="inc-1")
    (entry,) = store.audit.list()
    assert entry.actor == "chat:bob" and entry.action == SCALE and entry.target_key == ref().key
    assert entry.command == OK.command and entry.result == "ok" and entry.run_id == "run-7"
    assert entry.incident_id == "inc-1" and not entry.dry_run and entry.at == clock.now
    action = store.actions.get(verdict.action_id or "")
    assert action is not None and action.status == ActionStatus.done and action.finished_at == clock.now


def test_every_verdict_is_recorded(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(rate_limit_global_per_hour=2), clock)
    verdicts = [guard.check_action(decision(), SCALE, mutates=True, target=ref(f"w{i}")) for i in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, False, False, False]
    stored = store.decisions.verdicts()
    assert len(stored) == 5
    assert sorted(v.reason for v in stored) == ["ok", "ok", "rate_limit_global", "rate_limit_global",
                                                "rate_limit_global"]
    assert {v.id for v in stored} == {v.verdict_id for v in verdicts}


def test_two_guards_on_one_database_share_the_rate_limit(store_url: str, clock: FakeClock) -> None:
    """Two replicas (separate Store objects, separate connection pools) race for a limit of 5 per hour."""
    replicas = [Store.open(store_url), Store.open(store_url)]
    guards = [Guard(s, settings(rate_limit_global_per_hour=5), clock) for s in replicas]
    allowed: list[Verdict] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        guard = guards[i % 2]
        for j in range(4):
            v = guard.check_action(decision(), SCALE, mutates=True, target=ref(f"w{i}-{j}", f"ns{i}"))
            if v.allowed:
                allowed.append(v)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert len(allowed) == 5
        assert all(v.mode == VerdictMode.act for v in allowed)
        assert len(replicas[0].decisions.verdicts(allowed=False)) == 32 - 5
    finally:
        for s in replicas:
            s.close()
