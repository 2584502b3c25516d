"""Leader election on a Lease and the fence in the database, in one process: electors on the sandbox's
coordination.k8s.io API with only the chart's Lease Role (as the engine's ServiceAccount), and two stores on one
PostgreSQL standing for two replicas."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tagent.app.leader import Elector, Timing
from tagent.clients.kubernetes import KubeClient, Leases
from tagent.errors import ConfigError, PermanentError
from tagent.model import StepResult, StepStatus, WorkloadRef, utcnow
from tagent.sandbox import Sandbox
from tagent.sandbox.rbac import bound_to_service_account
from tagent.store import Fence, FencedOut, RunStatus, Store
from tests.chart.render import RELEASE, render
from tests.chart.value_sets import EXTERNAL_POSTGRES
from tests.waiting import wait_for

TOKEN = "chart-engine-token"
TIMING = Timing(duration=2.0, renew_deadline=0.8, retry_period=0.4)


@pytest.fixture
def chart_kube(sandbox: Sandbox, tmp_path: Path) -> Iterator[tuple[KubeClient, str, str]]:
    """A client holding only what the HA chart binds to the engine's ServiceAccount; (client, namespace, lease)."""
    rendered = render({**EXTERNAL_POSTGRES, "engine": {}})  # replicas by default: 2 with PostgreSQL
    sa = rendered.get("ServiceAccount", RELEASE)["metadata"]
    bound = bound_to_service_account(rendered.objects, sa["namespace"], sa["name"])
    sandbox.add_token(TOKEN, bound.rules, roles=bound.roles, user=bound.user)
    env = {e["name"]: e.get("value") for e in rendered.deployment("engine")["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    admin = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(tmp_path / "admin.kubeconfig"))
    admin.core.create_namespace({"metadata": {"name": env["TAGENT_LEASE_NAMESPACE"]}})  # the release's
    admin.close()
    kube = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(tmp_path / "engine.kubeconfig", token=TOKEN))
    try:
        yield kube, env["TAGENT_LEASE_NAMESPACE"], env["TAGENT_LEASE_NAME"]
    finally:
        kube.close()


def _elector(kube: KubeClient, store: Store, who: str, namespace: str, name: str) -> Elector:
    return Elector(Leases(kube.api_client), store.leadership, identity=who, namespace=namespace, name=name,
                   address=f"http://{who}:8080", timing=TIMING)


def test_acquire_renew_expire_take_over_and_release(chart_kube: tuple[KubeClient, str, str],
                                                    postgres_url: str) -> None:
    kube, namespace, name = chart_kube
    store_a, store_b = Store.open(postgres_url), Store.open(postgres_url)
    try:
        a, b = _elector(kube, store_a, "replica-a", namespace, name), _elector(kube, store_b, "replica-b",
                                                                                  namespace, name)
        started: list[str] = []
        stopped: list[str] = []
        a.on_started, a.on_stopped = lambda: started.append("a"), lambda: stopped.append("a")
        assert a.try_acquire() and a.leading() == Fence(f"{namespace}/{name}", 1)
        wait_for(lambda: started == ["a"], 5, "on_started")
        assert not b.try_acquire() and b.leading() is None  # held and fresh
        assert b.status()["leader"] == "replica-a" and b.status()["leader_address"] == "http://replica-a:8080"
        for _ in range(3):
            time.sleep(TIMING.retry_period)
            assert a.renew() and not b.try_acquire()
        # replica-a stops renewing (a crash): it stops acting at its renew deadline, BEFORE b may take over
        last_renewal = time.monotonic()
        while not b.try_acquire():
            if time.monotonic() - last_renewal >= TIMING.renew_deadline:
                assert a.leading() is None
            assert time.monotonic() - last_renewal < TIMING.duration + 2 * TIMING.retry_period + 1.0
            time.sleep(TIMING.retry_period / 2)
        took = time.monotonic() - last_renewal
        assert TIMING.duration - TIMING.retry_period - 0.2 <= took, took  # never before the Lease could expire
        assert a.leading() is None and b.leading() == Fence(f"{namespace}/{name}", 2)
        # the old leader wakes up: its renewal conflicts, it gives up for good and says so once
        assert not a.renew() and a.lost.is_set() and stopped == ["a"] and a.leading() is None
        # a clean stop releases the Lease: the next replica takes over at once, with the next term
        b.stop()
        assert store_a.leadership.current(f"{namespace}/{name}").holder == ""  # type: ignore[union-attr]
        c = _elector(kube, store_a, "replica-c", namespace, name)
        assert c.try_acquire() and c.leading() == Fence(f"{namespace}/{name}", 3)
        c.stop()
    finally:
        store_a.close()
        store_b.close()


def test_the_chart_role_grants_its_own_lease_only(chart_kube: tuple[KubeClient, str, str]) -> None:
    kube, namespace, _ = chart_kube
    with pytest.raises(PermanentError, match="403"):
        Leases(kube.api_client).get(namespace, "someone-elses-lease")
    with pytest.raises(PermanentError, match="403"):
        Leases(kube.api_client).get("kube-system", "kube-controller-manager")


def test_timing_that_would_let_two_leaders_act_is_refused() -> None:
    with pytest.raises(ConfigError, match="must be shorter than the lease duration"):
        Timing(duration=10, renew_deadline=9, retry_period=2).check()


def test_a_lower_term_cannot_journal_and_a_higher_term_takes_over_at_once(postgres_url: str) -> None:
    """Two replicas' stores on one database: the fence is in the database, not only in memory."""
    old, new = Store.open(postgres_url), Store.open(postgres_url)
    try:
        now = utcnow()
        run = old.runs.create("restart-workload", WorkloadRef(namespace="shop", name="checkout"), at=now)
        t1 = Fence("tagent/tagent-engine", 1)
        assert old.leadership.begin_term(t1.lease, 1, "a", "", at=now)
        assert old.runs.claim(run.id, "a", now=now, fence=t1)
        assert not old.runs.start_step(run.id, 0, action="kubernetes.rollout_restart", at=now, fence=t1).finished
        t2 = Fence(t1.lease, 2)
        assert new.leadership.begin_term(t1.lease, 2, "b", "", at=now)
        assert not old.leadership.begin_term(t1.lease, 2, "a", "", at=now)  # a stale acquisition: not recorded
        # the old leader, paused until now, wakes up: nothing it writes for this run or any other goes through
        with pytest.raises(FencedOut):
            old.runs.finish_step(run.id, 0, StepResult(status=StepStatus.ok, started_at=now, finished_at=now),
                                 fence=t1)
        with pytest.raises(FencedOut):
            old.runs.start_step(run.id, 1, action="kubernetes.wait_healthy", at=now, fence=t1)
        with pytest.raises(FencedOut):
            old.runs.set_status(run.id, RunStatus.failed, at=now, fence=t1)
        # the new leader does not wait for the old owner's heartbeat (fresh: 1 s old, stale after 60 s)
        assert new.runs.claim(run.id, "b", now=now + timedelta(seconds=1), stale_after=60, fence=t2)
        with pytest.raises(FencedOut):
            old.runs.claim(run.id, "a", now=now + timedelta(seconds=2), fence=t1)
        again = new.runs.start_step(run.id, 0, action="kubernetes.rollout_restart", at=now, fence=t2)
        assert not again.finished and again.attempt == 2  # the interrupted step, in doubt: its plan is checked
        journal = new.runs.journal(run.id)
        assert [(e.index, e.phase, e.term) for e in journal] == [(0, "start", 1), (0, "start", 2)]
        assert new.runs.get(run.id).term == 2  # type: ignore[union-attr]
    finally:
        old.close()
        new.close()
