"""Cooldowns (atomic under concurrency), the guard's action ledger, the inventory and the savings ledger."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tagent.model import Runtime, WorkloadInfo, WorkloadRef
from tagent.store import ActionStatus, Store
from tests.store.conftest import T0

API = WorkloadRef(namespace="shop", name="api")
WEB = WorkloadRef(namespace="shop", name="web")


def test_cooldown_acquire_expire_and_clear(store: Store) -> None:
    first = store.cooldowns.acquire("r", API.key, now=T0, seconds=600, decision_id="d1")
    assert first.acquired and first.until == T0 + timedelta(seconds=600)
    held = store.cooldowns.acquire("r", API.key, now=T0 + timedelta(seconds=599), seconds=600)
    assert not held.acquired and held.until == first.until
    assert store.cooldowns.acquire("r", WEB.key, now=T0, seconds=600).acquired  # per target
    assert store.cooldowns.acquire("other-rule", API.key, now=T0, seconds=600).acquired  # per rule
    again = store.cooldowns.acquire("r", API.key, now=T0 + timedelta(seconds=600), seconds=60)
    assert again.acquired and again.until == T0 + timedelta(seconds=660)
    rec = store.cooldowns.get("r", API.key)
    assert rec is not None and rec.set_at == T0 + timedelta(seconds=600)
    assert {(c.rule, c.target_key) for c in store.cooldowns.active(T0 + timedelta(seconds=599))} == {
        ("r", API.key), ("r", WEB.key), ("other-rule", API.key)}
    assert [(c.rule, c.target_key) for c in store.cooldowns.active(T0 + timedelta(seconds=601))] == [("r", API.key)]
    assert store.cooldowns.clear("r", API.key)
    assert store.cooldowns.acquire("r", API.key, now=T0 + timedelta(seconds=601), seconds=60).acquired


@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "expired"])
def test_cooldown_has_one_winner_among_concurrent_callers(store: Store, existing: bool) -> None:
    if existing:
        store.cooldowns.acquire("r", API.key, now=T0 - timedelta(hours=1), seconds=60)
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def race(i: int) -> None:
        barrier.wait()
        if store.cooldowns.acquire("r", API.key, now=T0, seconds=600).acquired:
            wins.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 1


def test_ledger_counts(store: Store) -> None:
    with store.actions.locked() as ledger:
        a = ledger.reserve(at=T0, actor="rule:x", action="kubernetes.rollout_restart", target_key=API.key,
                           namespace="shop", pods_affected=2, rule="x")
        ledger.reserve(at=T0 + timedelta(minutes=1), actor="rule:x", action="kubernetes.rollout_undo",
                       target_key=WEB.key, namespace="shop", pods_affected=1)
        ledger.reserve(at=T0 + timedelta(minutes=2), actor="chat:bob", action="kubernetes.scale",
                       target_key="Deployment/other/db", namespace="other", pods_affected=0)
    store.actions.finish(a, ActionStatus.done, at=T0 + timedelta(seconds=30))
    with store.actions.locked() as ledger:
        assert ledger.count_since(T0) == 3
        assert ledger.count_since(T0, namespace="shop") == 2
        assert ledger.count_since(T0 + timedelta(seconds=30)) == 2
        assert ledger.targets_since(T0) == {API.key, WEB.key, "Deployment/other/db"}
        assert ledger.pods_in_flight(API.key, T0) == 0  # done: no longer in flight
        assert ledger.pods_in_flight(WEB.key, T0) == 1
        assert ledger.count_actions(WEB.key, {"kubernetes.rollout_undo"}, T0) == 1
        assert ledger.last_action_at(API.key, {"kubernetes.rollout_restart"}) == T0
        assert ledger.last_action_at(WEB.key, {"kubernetes.rollout_restart"}) is None
    released = store.actions.list(target_key=WEB.key)[0]
    store.actions.finish(released.id, ActionStatus.released, at=T0)
    with store.actions.locked() as ledger:
        assert ledger.count_since(T0) == 2  # released actions count for nothing
    got = store.actions.get(a)
    assert got is not None and got.status == ActionStatus.done and got.finished_at == T0 + timedelta(seconds=30)


def _workload(name: str, replicas: int = 2, **kw: object) -> WorkloadInfo:
    return WorkloadInfo(ref=WorkloadRef(namespace="shop", name=name), replicas=replicas, ready_replicas=replicas,
                        runtime=Runtime.python, images=[f"registry/{name}:1"], labels={"app": name},
                        annotations={"a": "b"}, ports=[8080], **kw)


def test_inventory_replace_upsert_remove(store: Store) -> None:
    store.inventory.replace([_workload("api"), _workload("web"), _workload("db")], at=T0)
    assert [w.ref.name for w in store.inventory.list()] == ["api", "db", "web"]
    store.inventory.replace([_workload("api", replicas=5), _workload("cache")], at=T0 + timedelta(minutes=1))
    assert [w.ref.name for w in store.inventory.list(namespace="shop")] == ["api", "cache"]
    api = store.inventory.get(API)
    assert api == _workload("api", replicas=5)
    store.inventory.upsert(_workload("web", replicas=1), at=T0)
    assert store.inventory.get(WEB) == _workload("web", replicas=1)
    assert store.inventory.remove(WEB) and not store.inventory.remove(WEB)
    store.inventory.replace([], at=T0)
    assert store.inventory.list() == []


def test_savings_replica_hours(store: Store) -> None:
    store.savings.open(API, from_replicas=4, to_replicas=1, at=T0, reason="idle", run_id="r1")
    assert store.savings.total_replica_hours(T0 + timedelta(hours=2)) == pytest.approx(6.0)  # 3 replicas x 2 h
    closed = store.savings.close(API, at=T0 + timedelta(hours=1))
    assert closed is not None and closed.replica_hours(T0 + timedelta(hours=9)) == pytest.approx(3.0)
    assert store.savings.close(API, at=T0 + timedelta(hours=2)) is None
    store.savings.open(WEB, from_replicas=3, to_replicas=2, at=T0, reason="idle")
    store.savings.open(WEB, from_replicas=2, to_replicas=1, at=T0 + timedelta(hours=1), reason="idle again")
    # web: 1 replica x 1 h (closed by the second scale-down) + 1 replica x 1 h so far
    assert store.savings.total_replica_hours(T0 + timedelta(hours=2)) == pytest.approx(3.0 + 2.0)
    assert len(store.savings.list()) == 3
