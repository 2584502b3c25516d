"""An event storm: 1,000 events on 50 workloads give at most one admitted decision per workload per cooldown,
also across a restart (a new Store on the same database) and with two guards sharing one database."""

from __future__ import annotations

import threading
from collections import Counter

from tagent.guard import Admission, Guard, Verdict
from tagent.model import Decision, Event, EventSource
from tagent.store import Store
from tests.guard.helpers import decision, ref, settings
from tests.store.conftest import FakeClock

WORKLOADS = [ref(f"svc-{i:02d}", f"team-{i % 5}") for i in range(50)]
COOLDOWN = 600.0


def storm(clock: FakeClock, n: int = 1000) -> list[tuple[Event, Decision]]:
    """n CrashLoopBackOff events spread over the workloads, each turned into a decision by the same rule."""
    out = []
    for i in range(n):
        target = WORKLOADS[(i * 7) % len(WORKLOADS)]
        event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=target,
                      values={"restarts": float(i)}, observed_at=clock.now)
        out.append((event, decision(target, event_ids=[event.id], decided_at=clock.now)))
    return out


def run(guard: Guard, store: Store, items: list[tuple[Event, Decision]], batch: int = 50) -> list[Verdict]:
    """What a detection loop does: store the events, then judge the decisions in small batches."""
    verdicts: list[Verdict] = []
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        store.events.add_many(e for e, _ in chunk)
        verdicts += guard.admit_many([Admission(d, cooldown=COOLDOWN) for _, d in chunk])
    return verdicts


def admitted_per_workload(verdicts: list[Verdict]) -> Counter[str]:
    return Counter(v.target.key for v in verdicts if v.allowed)


def test_storm_admits_one_decision_per_workload_per_cooldown(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(), clock)
    verdicts = run(guard, store, storm(clock))
    per = admitted_per_workload(verdicts)
    assert len(per) == 50 and set(per.values()) == {1}
    assert len(store.decisions.verdicts(limit=5000)) == 1000  # every decision recorded, allowed or refused
    assert len(store.decisions.list(limit=5000)) == 1000
    assert store.events.count() == 1000
    clock.advance(COOLDOWN / 2)
    assert admitted_per_workload(run(guard, store, storm(clock, 200))) == Counter()
    clock.advance(COOLDOWN / 2)
    per = admitted_per_workload(run(guard, store, storm(clock, 200)))
    assert len(per) == 50 and set(per.values()) == {1}


def test_restart_keeps_cooldowns(store_url: str, clock: FakeClock) -> None:
    with Store.open(store_url) as first:
        per = admitted_per_workload(run(Guard(first, settings(), clock), first, storm(clock, 300)))
        assert len(per) == 50
    clock.advance(60)
    with Store.open(store_url) as restarted:  # a new process would do exactly this
        guard = Guard(restarted, settings(), clock)
        assert admitted_per_workload(run(guard, restarted, storm(clock, 300))) == Counter()
        clock.advance(COOLDOWN)
        assert len(admitted_per_workload(run(guard, restarted, storm(clock, 300)))) == 50


def test_two_guards_sharing_one_database(store_url: str, clock: FakeClock) -> None:
    """Two replicas, each with its own Store (own connection pool), split the storm between them and run
    concurrently: still exactly one admitted decision per workload."""
    items = storm(clock)
    replicas = [Store.open(store_url), Store.open(store_url)]
    verdicts: list[list[Verdict]] = [[], []]
    barrier = threading.Barrier(2)

    def replica(i: int) -> None:
        guard = Guard(replicas[i], settings(), clock)
        barrier.wait()
        verdicts[i] = run(guard, replicas[i], items[i::2], batch=5)  # small batches: the replicas interleave

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    try:
        both = verdicts[0] + verdicts[1]
        assert len(both) == 1000
        per = admitted_per_workload(both)
        assert len(per) == 50 and set(per.values()) == {1}
        assert len(replicas[1].decisions.verdicts(allowed=True, limit=5000)) == 50
    finally:
        for s in replicas:
            s.close()


def test_one_by_one_and_batched_admission_agree(store: Store, clock: FakeClock) -> None:
    """`admit` is `admit_many` of one: the same storm judged one decision at a time gives the same verdicts."""
    guard = Guard(store, settings(), clock)
    items = storm(clock, 200)
    single = [guard.admit(d, cooldown=COOLDOWN) for _, d in items[:100]]
    clock.advance(COOLDOWN)
    batched = run(guard, store, items[100:], batch=100)
    assert [(v.target.key, v.allowed, v.reason) for v in single][:50] == \
        [(v.target.key, v.allowed, v.reason) for v in batched][:50]
    assert admitted_per_workload(single) == admitted_per_workload(batched)
