"""Issue 9's acceptance, the guard's half: a storm of 1,000 events on 50 workloads yields at most one admitted
decision per workload (and rule) per cooldown, and a restarted engine keeps the cooldowns (they live in the
store, not in the process).

Events are synthetic (docs/events.md) and go through `Engine.process`, the dispatcher's body, on an Engine
built as `tagent run` builds it, with a clock the test moves. The engine's cluster is a sandbox; the storm's
workloads are not in it, so the playbooks the admitted decisions start fail harmlessly (they are not what is
tested here).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.model import Event, EventSource, WorkloadRef
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tagent.store import Store
from tests.e2e.helpers import REPO

pytestmark = pytest.mark.xdist_group("e2e-guarantees")
T0 = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)
CRASHLOOP_COOLDOWN = timedelta(minutes=10)  # rules/crashloop-restart.yaml
OOM_COOLDOWN = timedelta(minutes=15)  # rules/oomkilled-restart.yaml


class ManualClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def sandbox_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with Sandbox() as sandbox:
        yield sandbox.write_kubeconfig(tmp_path_factory.mktemp("guarantees") / "kubeconfig")


def make_engine(kubeconfig: Path, db: Path, clock: Callable[[], datetime]) -> Engine:
    # the rate limits (10 an hour per namespace, 5 workloads per 10 min) would defer most of the storm
    # (tests/incidents/test_storm.py is about that): this is about cooldowns
    settings = Settings(rules=str(REPO), kubeconfig=kubeconfig, data_dir=db.parent / "data",
                        blast_radius_workloads_per_window=1000, rate_limit_namespace_per_hour=1000,
                        rate_limit_global_per_hour=1000)
    return build_engine(settings, store=Store.open(f"sqlite:///{db}"), clock=clock)


def close(engine: Engine) -> None:
    engine.stop()
    engine.store.close()


def event(reason: str, target: WorkloadRef, at: datetime, n: int) -> Event:
    """One event of the storm, shaped as the sources shape them (docs/events.md)."""
    if reason in ("CrashLoopBackOff", "OOMKilled"):
        return Event(source=EventSource.kubernetes, kind="PodState", reason=reason, target=target,
                     labels={"app": target.name, "pod": f"{target.name}-7c9d-{n % 3}", "container": "app"},
                     values={"restarts": float(n)}, message=f"container app: {reason} (restarts {n})", observed_at=at)
    if reason == "BackOff":
        return Event(source=EventSource.kubernetes, kind="K8sEvent", reason=reason, target=target,
                     labels={"app": target.name, "type": "Warning"}, values={"count": float(n)},
                     message="Back-off restarting failed container", observed_at=at)
    return Event(source=EventSource.metrics, kind="Metric", reason="restarts", target=target,
                 labels={"app": target.name}, values={"value": float(n)}, message=f"restarts = {n}", observed_at=at)


def admitted_per(engine: Engine, since: datetime) -> Counter[tuple[str, str]]:
    records = engine.store.decisions.list(limit=1000, since=since)
    return Counter((r.decision.rule, r.decision.target.name) for r in records
                   if r.verdict is not None and r.verdict.allowed)


def test_a_storm_gives_one_decision_per_workload_per_cooldown(sandbox_kubeconfig: Path, tmp_path: Path) -> None:
    """Half the workloads crash-loop, half are OOM-killed (one rule each: the incident lifecycle folds a second
    rule's decision on a workload into the first rule's incident without asking the guard); every other
    event of the storm matches nothing (Kubernetes BackOff events, restart counts)."""
    clock = ManualClock(T0)
    engine = make_engine(sandbox_kubeconfig, tmp_path / "tagent.db", clock)
    workloads = [WorkloadRef(kind="Deployment", namespace="storm", name=f"svc-{i:02d}") for i in range(50)]
    fault = {w.name: "CrashLoopBackOff" if i < 25 else "OOMKilled" for i, w in enumerate(workloads)}

    def storm_event(n: int) -> Event:
        w = workloads[n % 50]
        reason = (fault[w.name], "BackOff", fault[w.name], "restarts")[(n // 50) % 4]
        return event(reason, w, clock.at, n)

    started = time.monotonic()
    try:
        for n in range(1000):  # 100 s of clock time: well inside both cooldowns
            engine.process(storm_event(n))
            clock.at += timedelta(milliseconds=100)
        storm_s = time.monotonic() - started
        records = engine.store.decisions.list(limit=1000, since=T0)
        verdicts = Counter((r.verdict.allowed, r.verdict.reason) for r in records if r.verdict is not None)
        per = admitted_per(engine, T0)

        # every matching event was decided and judged; exactly one per workload got through
        assert engine.state.events_seen == 1000 and engine.state.decisions == 500 and len(records) == 500
        # the rest were refused: in the cooldown, or joined to the workload's incident while its cooldown runs
        # (its fix failed at once: these workloads are not in the cluster)
        assert verdicts[(True, "ok")] == 50 and sum(verdicts.values()) == 500
        assert {reason for allowed, reason in verdicts if not allowed} <= {"cooldown", "joined_incident"}
        assert sorted(per.values()) == [1] * 50
        rule_of = {"CrashLoopBackOff": "crashloop-restart", "OOMKilled": "oomkilled-restart"}
        assert set(per) == {(rule_of[fault[w.name]], w.name) for w in workloads}

        # past the cooldowns (minutes later: the storm's runs have ended): one more each, not more
        assert engine.incidents is not None and engine.incidents.drain(60)
        clock.at = T0 + OOM_COOLDOWN + timedelta(minutes=1)
        second = clock.at
        for n in range(150):
            engine.process(event(fault[workloads[n % 50].name], workloads[n % 50], clock.at, 2000 + n))
        per = admitted_per(engine, second)
        assert sorted(per.values()) == [1] * 50
    finally:
        close(engine)
    print(f"\nstorm: 1,000 events through match + guard + incidents + store in {storm_s:.1f}s "
          f"({1000 / storm_s:.0f} events/s)")


def test_a_restarted_engine_keeps_its_cooldowns(sandbox_kubeconfig: Path, tmp_path: Path) -> None:
    db = tmp_path / "tagent.db"
    cart = WorkloadRef(kind="Deployment", namespace="storm", name="cart")
    first = make_engine(sandbox_kubeconfig, db, ManualClock(T0))
    try:
        first.process(event("CrashLoopBackOff", cart, T0, 3))
        assert [r.verdict.reason for r in first.store.decisions.list() if r.verdict] == ["ok"]
    finally:
        close(first)

    later = ManualClock(T0 + timedelta(minutes=4))
    second = make_engine(sandbox_kubeconfig, db, later)  # a new process' worth of objects on the same file
    try:
        second.process(event("CrashLoopBackOff", cart, later.at, 4))
        refused = second.store.decisions.list(limit=1)[0].verdict
        assert refused is not None and not refused.allowed and refused.reason == "cooldown"
        assert "cooldown ends at" in refused.detail
        later.at = T0 + CRASHLOOP_COOLDOWN + timedelta(seconds=1)  # and it is the cooldown that refused it
        second.process(event("CrashLoopBackOff", cart, later.at, 5))
        again = second.store.decisions.list(limit=1)[0].verdict
        assert again is not None and again.allowed
    finally:
        close(second)
