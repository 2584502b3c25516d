"""wait-healthy on a real rollout with pods made ready by a kubelet, not by the test: the emulator's own
kubelet, and on the real control plane the sandbox's simulated kubelet (`RealSandbox`: an RBAC-bound API
client that registers nodes and writes pod status), so the real scheduler binds the pods and the real
deployment controller rolls them at its own pace (25 % surge)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.actions import workloads as wl
from tagent.clients.kubernetes import KubeClient
from tagent.sandbox import Sandbox
from tagent.sandbox.real.cluster import RealSandbox
from tests.conformance.cluster import Cluster
from tests.fixtures.realk8s import REAL, require_control_plane
from tests.waiting import wait_for

pytestmark = REAL


@pytest.fixture(scope="module")
def real_sandbox() -> Iterator[RealSandbox]:
    sb = RealSandbox(bin_dir=require_control_plane(), seed=3)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(params=["emulator", "real-kubelet"])
def kubelet_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    namespace = f"conf-{uuid.uuid4().hex[:8]}"
    sandbox: Sandbox | None = None
    if request.param == "emulator":
        sandbox = Sandbox(speed=10).start()
        kubeconfig = sandbox.write_kubeconfig(tmp_path / "admin.kubeconfig")
    else:
        kubeconfig = request.getfixturevalue("real_sandbox").write_kubeconfig(tmp_path / "admin.kubeconfig")
    c = Cluster(request.param, kubeconfig, KubeClient.from_kubeconfig(kubeconfig), namespace, tmp_path, sandbox)
    c.create_namespace(namespace)
    try:
        yield c
    finally:
        if sandbox is None:
            c.kube.core.delete_namespace(namespace)
        c.kube.close()
        if sandbox is not None:
            sandbox.stop()


def test_wait_healthy_on_a_rollout_the_kubelet_makes_ready(kubelet_cluster: Cluster) -> None:
    c = kubelet_cluster
    c.deployment("paced", image="registry.example/paced:1", replicas=4)
    wait_for(lambda: all(wl.deployment_health(c.kube, c.namespace, "paced").healthy for _ in range(2)), 90,
             f"v1 healthy on {c.server}", interval=0.3)
    c.set_image("paced", "registry.example/paced:2")
    seen_unhealthy = []

    def healthy_twice() -> bool:
        first = wl.deployment_health(c.kube, c.namespace, "paced")
        if not first.healthy:
            seen_unhealthy.append(first.message)
        return first.healthy and wl.deployment_health(c.kube, c.namespace, "paced").healthy

    wait_for(healthy_twice, 120, f"the rollout on {c.server}", interval=0.1)
    assert seen_unhealthy, "wait-healthy never saw the rollout in progress"
    by_revision = {wl.revision(rs): rs for rs in c.replicasets("paced")}
    assert by_revision[2]["spec"]["replicas"] == 4 and by_revision[1]["spec"]["replicas"] == 0
    new_hash = by_revision[2]["metadata"]["labels"]["pod-template-hash"]
    live = [p for p in c.kube.list_pods(c.namespace, {"app": "paced"}) if not p.deleting]
    assert sum(1 for p in live if p.labels["pod-template-hash"] == new_hash and p.ready) == 4
    assert all(p.node for p in live)  # bound by a scheduler to a registered node
