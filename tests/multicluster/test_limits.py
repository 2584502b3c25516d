"""The guard's limits per cluster: the blast radius (workloads mutated per window) and the rate limit per
namespace count each cluster's workloads and namespaces on their own; the global hourly limit stays global."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tagent.guard import Guard
from tagent.guard.limits import admission_refusal
from tagent.model import StepResult, StepStatus, WorkloadRef
from tagent.settings import Settings
from tagent.store import Store

T0 = datetime(2030, 1, 1, 3, 0, tzinfo=UTC)


def act(guard: Guard, target: WorkloadRef) -> str:
    verdict = guard.check_action("chat:asha", "kubernetes.scale", mutates=True, target=target, automatic=False)
    if verdict.allowed:
        guard.record_action(verdict, StepResult(status=StepStatus.ok, command="kubectl scale"))
    return verdict.reason.value


def test_blast_radius_and_namespace_rate_are_per_cluster(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blast_radius_workloads_per_window=2, rate_limit_namespace_per_hour=3,
                        rate_limit_global_per_hour=100, restart_min_interval=0)
    with Store.open(f"sqlite:///{tmp_path / 'tagent.db'}") as store:
        guard = Guard(store, settings, lambda: T0)
        west = [WorkloadRef(namespace="shop", name=n, cluster="west") for n in ("a", "b", "c")]
        home = [WorkloadRef(namespace="shop", name=n) for n in ("a", "b")]
        assert [act(guard, w) for w in west[:2]] == ["ok", "ok"]
        assert act(guard, west[2]) == "blast_radius_workloads"  # a third workload of west in the window
        assert [act(guard, w) for w in home] == ["ok", "ok"]  # the home cluster's workloads are its own count
        assert act(guard, west[0]) == "ok"  # a workload already touched is no new blast radius: 3 in west/shop
        assert act(guard, west[1]) == "rate_limit_namespace"  # shop in west is full; shop at home is not
        assert act(guard, home[0]) == "ok"
        rows = store.actions.list()
        assert {(r.cluster, r.target_key) for r in rows} == {
            ("west", "west:Deployment/shop/a"), ("west", "west:Deployment/shop/b"),
            ("", "Deployment/shop/a"), ("", "Deployment/shop/b")}

        with store.actions.locked() as ledger:  # the admission snapshot counts the same way
            snapshot = ledger.snapshot(T0, settings.blast_radius_window)
        assert snapshot.targets_in("west") == {"west:Deployment/shop/a", "west:Deployment/shop/b"}
        refused = admission_refusal(snapshot, settings, WorkloadRef(namespace="web", name="z", cluster="west"))
        assert refused is not None and refused[0].value == "blast_radius_workloads", refused
        assert "in cluster west" in refused[1]
        assert admission_refusal(snapshot, settings, west[2])[0].value == "rate_limit_namespace"  # type: ignore[index]
        assert admission_refusal(snapshot, settings, WorkloadRef(namespace="web", name="x", cluster="north")) is None
