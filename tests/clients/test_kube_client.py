"""KubeClient against the sandbox cluster through the official client: reads, owners, logs, metrics,
mutations done the kubectl way, and error mapping."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient
from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.model.core import WorkloadRef
from tagent.model.inventory import Runtime

IMAGE_RUNTIME = {"node": Runtime.nodejs, "python": Runtime.python, "eclipse-temurin": Runtime.java,
                 "golang": Runtime.go, "coredns": Runtime.go, "redis": Runtime.cache, "postgres": Runtime.database}


def wait_until(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout}s")


@pytest.fixture
def kube(kube_api: k8s.ApiClient) -> KubeClient:
    return KubeClient(kube_api, request_timeout=10)


def test_from_kubeconfig_and_bad_config(kubeconfig: Path, tmp_path: Path) -> None:
    client = KubeClient.from_kubeconfig(kubeconfig)
    assert client.list_nodes()
    client.close()
    (tmp_path / "bad").write_text("not: [a kubeconfig")
    with pytest.raises(ConfigError, match="kubeconfig"):
        KubeClient.from_kubeconfig(tmp_path / "bad")


def test_inventory_infers_runtime_from_images(kube: KubeClient) -> None:
    workloads = kube.list_workloads()
    assert {w.ref.kind for w in workloads} == {"Deployment", "StatefulSet"}
    for w in workloads:
        name = w.images[0].rsplit("/", 1)[-1].split(":")[0]
        assert w.runtime == IMAGE_RUNTIME[name], w
    frontend = next(w for w in workloads if w.ref.name == "frontend")
    assert frontend.ports == [3000] and frontend.replicas == frontend.ready_replicas == 3
    assert frontend.labels["tier"] == "frontend"
    assert [w.ref.name for w in kube.list_workloads("test")] == ["test-env"]


def test_nodes_pods_owners_and_selectors(kube: KubeClient) -> None:
    nodes = kube.list_nodes()
    assert nodes and all(n.ready and n.cpu for n in nodes)
    pods = kube.list_pods("shop", {"app": "cart"})
    assert len(pods) == 2
    for pod in pods:
        assert pod.owner is not None and pod.owner.kind == "ReplicaSet"
        assert kube.owner_of(pod) == WorkloadRef(kind="Deployment", namespace="shop", name="cart")
        # scenarios/default.yaml: cart requests 80m of CPU and 64Mi of memory
        assert pod.cpu_request == pytest.approx(0.08) and pod.memory_request == 64 * 2**20
        assert pod.containers[0].image == "golang:1.22"
    (db,) = kube.list_pods("shop", "app=postgres")
    assert kube.owner_of(db) == WorkloadRef(kind="StatefulSet", namespace="shop", name="postgres")
    assert kube.resolve_pod("shop", pods[0].name) == WorkloadRef(kind="Deployment", namespace="shop", name="cart")
    assert kube.resolve_pod("shop", "no-such-pod") is None
    assert {p.namespace for p in kube.list_pods()} >= {"shop", "test", "kube-system"}


def test_logs_events_and_metrics(kube: KubeClient, sandbox: object) -> None:
    pod = kube.list_pods("shop", {"app": "frontend"})[0]
    wait_until(lambda: kube.pod_logs("shop", pod.name, tail_lines=2).count("\n") == 2)
    raw = kube.pod_log_bytes("shop", pod.name, tail_lines=1, timestamps=True)
    assert raw[:2] == b"20" and b"T" in raw[:20]
    pod_usage = kube.pod_metrics("shop")
    assert {u.name for u in pod_usage} >= {pod.name}
    assert all(u.cpu > 0 and u.memory > 0 for u in pod_usage)
    assert {u.name for u in kube.node_metrics()} == {n.name for n in kube.list_nodes()}
    assert all(e.involved.name for e in kube.list_events())


def test_errors_map_to_the_tree(kube: KubeClient) -> None:
    with pytest.raises(PermanentError, match="HTTP 404"):
        kube.get_deployment("shop", "nope")
    with pytest.raises(PermanentError, match="unsupported workload kind"):
        kube.scale("DaemonSet", "shop", "cart", 1)
    with pytest.raises(PermanentError, match=r"0\.\.1000"):
        kube.scale("Deployment", "shop", "cart", -1)
    unreachable = KubeClient(k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9")), request_timeout=2)
    with pytest.raises(TransientError):
        unreachable.list_nodes()


def test_scale_and_restart(kube: KubeClient) -> None:
    assert kube.scale("Deployment", "shop", "cart", 4) == 2
    assert kube.get_deployment("shop", "cart").replicas == 4
    wait_until(lambda: len(kube.list_pods("shop", {"app": "cart"})) == 4)
    assert kube.scale("StatefulSet", "shop", "postgres", 2) == 1

    before = kube.get_deployment("shop", "frontend")
    stamp = kube.rollout_restart("shop", "frontend")
    after = kube.get_deployment("shop", "frontend")
    assert after.template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == stamp
    assert after.generation == before.generation + 1
    wait_until(lambda: kube.rollout_status("shop", "frontend").complete, timeout=60)
    assert kube.rollout_status("shop", "frontend").revision == before.revision + 1


def test_rollout_undo_toggles_like_kubectl(kube: KubeClient, sandbox: object) -> None:
    with pytest.raises(PermanentError, match="no rollout history"):
        kube.rollout_undo("shop", "checkout")
    sandbox.inject("bad-deploy", "shop", "checkout")  # type: ignore[attr-defined]
    wait_until(lambda: kube.get_deployment("shop", "checkout").revision == 2)
    bad_template = kube.get_deployment("shop", "checkout").template
    result = kube.rollout_undo("shop", "checkout")
    assert (result.from_revision, result.to_revision, result.skipped) == (2, 1, False)
    wait_until(lambda: kube.get_deployment("shop", "checkout").revision == 3)
    restored = kube.get_deployment("shop", "checkout")
    assert restored.template != bad_template
    assert "pod-template-hash" not in restored.template["metadata"].get("labels", {})
    again = kube.rollout_undo("shop", "checkout")  # a second undo goes back to the bad version
    assert (again.from_revision, again.to_revision) == (3, 2)
    wait_until(lambda: kube.get_deployment("shop", "checkout").template == bad_template)
    same = kube.rollout_undo("shop", "checkout", to_revision=kube.get_deployment("shop", "checkout").revision)
    assert same.skipped and "already matches" in same.message
    with pytest.raises(PermanentError, match="unable to find revision 99"):
        kube.rollout_undo("shop", "checkout", to_revision=99)


def test_delete_evict_and_pdb(kube: KubeClient) -> None:
    victim = kube.list_pods("shop", {"app": "cart"})[0]
    kube.delete_pod("shop", victim.name)
    wait_until(lambda: victim.name not in {p.name for p in kube.list_pods("shop", {"app": "cart"})}
               and len(kube.list_pods("shop", {"app": "cart"})) == 2)
    evictee = kube.list_pods("shop", {"app": "frontend"})[0]
    kube.evict_pod("shop", evictee.name)
    wait_until(lambda: evictee.name not in {p.name for p in kube.list_pods("shop", {"app": "frontend"})})
    (db,) = kube.list_pods("shop", {"app": "postgres"})
    with pytest.raises(TransientError, match="429"):
        kube.evict_pod("shop", db.name)  # PodDisruptionBudget minAvailable=1 with one replica
    kube.delete_deployment("test", "test-env")
    with pytest.raises(PermanentError):
        kube.get_deployment("test", "test-env")
    wait_until(lambda: not kube.list_pods("test"))
