"""Issue 14: the sandbox's controllers are linear in the workload count, so 3,000 workloads start and a
fault among them becomes visible through the API within seconds (the timings themselves are measured by
bench/sandbox_scale.py; the bounds here only have a generous margin for a loaded CI machine)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kubernetes import client, config

from tagent.errors import ValidationError
from tagent.sandbox import Sandbox, kinds
from tagent.sandbox.scenario import generated_scenario
from tests.sandbox.helpers import wait_for


def _crashlooping(core: client.CoreV1Api, namespace: str, name: str) -> bool:
    for pod in core.list_namespaced_pod(namespace, label_selector=f"app={name}").items:
        for status in (pod.status.container_statuses if pod.status else None) or []:
            if status.state and status.state.waiting and status.state.waiting.reason == "CrashLoopBackOff":
                return True
    return False


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_thousand_workloads_start_and_a_fault_shows_quickly(tmp_path: Path) -> None:
    scenario = generated_scenario(3000, replicas=2)
    started = time.monotonic()
    sb = Sandbox(scenario=scenario, speed=10, seed=7).start()
    try:
        start_s = time.monotonic() - started
        assert sb.store.count(kinds.DEPLOYMENTS) == 3000
        assert sb.store.count(kinds.PODS) == 6000
        # before issue 14 this never finished; it takes about 25 s on a busy 2-core machine
        assert start_s < 240, f"3,000 workloads took {start_s:.0f} s to start"
        api = config.new_client_from_config(config_file=str(sb.write_kubeconfig(tmp_path / "kubeconfig")))
        core = client.CoreV1Api(api)
        target = scenario.spec.workloads[1234]
        assert not _crashlooping(core, target.namespace, target.name)
        injected = time.monotonic()
        sb.inject("crashloop", target.namespace, target.name)
        # about 4 sandbox seconds (0.4 s at speed 10) plus a few ticks; it was 20-45 s at 1,000 workloads
        wait_for(lambda: _crashlooping(core, target.namespace, target.name), timeout=90,
                 what=f"CrashLoopBackOff on {target.namespace}/{target.name}", interval=0.2)
        assert time.monotonic() - injected < 90
        other = scenario.spec.workloads[2999]
        assert not _crashlooping(core, other.namespace, other.name)  # the fault stays where it was put
        api.close()
    finally:
        sb.stop()


def test_owner_and_namespace_indexes_follow_every_write() -> None:
    """The store's indexes answer exactly what a full scan answers, through creates, owner changes and
    deletes (the controllers trust them instead of scanning)."""
    sb = Sandbox(scenario=generated_scenario(6, replicas=2, per_namespace=3), seed=3)
    sim = sb.simulation
    sim.populate()
    store = sim.store

    def scan(rt: kinds.ResourceType, uid: str) -> list[str]:
        return sorted(o["metadata"]["name"] for o in store.items(rt) if any(
            r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences") or []))

    def check() -> None:
        for d in store.items(kinds.DEPLOYMENTS):
            assert sorted(o["metadata"]["name"] for o in store.owned(kinds.REPLICASETS, d["metadata"]["uid"])) \
                == scan(kinds.REPLICASETS, d["metadata"]["uid"]) != []
        for rs in store.items(kinds.REPLICASETS):
            assert sorted(o["metadata"]["name"] for o in store.owned(kinds.PODS, rs["metadata"]["uid"])) \
                == scan(kinds.PODS, rs["metadata"]["uid"])
        for ns in ("team-0", "team-1"):
            assert [o["metadata"]["name"] for o in store.items(kinds.PODS, ns)] == \
                [o["metadata"]["name"] for o in store.items(kinds.PODS) if o["metadata"]["namespace"] == ns]

    check()
    rs = store.items(kinds.REPLICASETS, "team-1")[0]
    pod = store.owned(kinds.PODS, rs["metadata"]["uid"])[0]
    # an orphaned pod leaves its owner's index; the ReplicaSet makes a replacement
    store.mutate(kinds.PODS, "team-1", pod["metadata"]["name"],
                 lambda o: o["metadata"].__setitem__("ownerReferences", []))
    owned = [o["metadata"]["name"] for o in store.owned(kinds.PODS, rs["metadata"]["uid"])]
    assert pod["metadata"]["name"] not in owned
    sim.tick()
    assert len(store.owned(kinds.PODS, rs["metadata"]["uid"])) == 2
    store.delete(kinds.DEPLOYMENTS, "team-0", "svc-0")
    sim.tick()
    check()
    assert store.items(kinds.PODS, "team-0", lambda o: o["metadata"]["name"].startswith("svc-0-")) == []
    assert store.items(kinds.PODS, "no-such-namespace") == []


def test_generated_scenario_refuses_nonsense() -> None:
    with pytest.raises(ValidationError, match="workloads"):
        generated_scenario(0)
    scenario = generated_scenario(501, replicas=1, per_namespace=250, pods_per_node=100)
    assert {w.namespace for w in scenario.spec.workloads} == {"team-0", "team-1", "team-2"}
    assert len(scenario.spec.nodes) == 6
