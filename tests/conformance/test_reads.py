"""Reads and watches the engine makes (KubeClient: typed lists, owner resolution, resumable watches), the
same on the emulator and on the real control plane."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tagent.clients.kubernetes import WatchEvent
from tagent.clients.kubernetes.watch import Watcher
from tagent.model import WorkloadRef
from tests.conformance.cluster import Cluster
from tests.fixtures.realk8s import REAL
from tests.waiting import wait_for

pytestmark = REAL
FAKE_TAINT = {"key": "conformance.tagent.io/fake", "effect": "NoSchedule"}  # nothing gets scheduled on it


def pods_of(c: Cluster, app: str, count: int) -> list[dict[str, Any]]:
    return wait_for(lambda: (lambda items: items if len(items) == count else None)(
        c.kube.list_raw("pods", c.namespace, {"app": app})[0]), 30, f"{count} pods of {app} on {c.server}")


def test_deployments_and_workloads_are_read_alike(cluster: Cluster) -> None:
    cluster.deployment("web", image="python:3.12", replicas=2)
    d = cluster.wait_revision("web", 1)
    info = next(i for i in cluster.kube.list_deployments(cluster.namespace) if i.ref.name == "web")
    assert (info.replicas, info.selector, info.revision, info.generation) == (2, {"app": "web"}, 1, 1)
    assert info.uid == d["metadata"]["uid"]
    assert info.template["spec"]["containers"][0]["image"] == "python:3.12"
    assert info.progress_deadline_s == 600  # defaulted by the server
    assert {"Progressing"} <= set(info.conditions)
    workload = next(w for w in cluster.kube.list_workloads(cluster.namespace) if w.ref.name == "web")
    assert (workload.ref.kind, workload.runtime.value, workload.ports) == ("Deployment", "python", [8080])
    assert cluster.kube.list_deployments(cluster.namespace, {"app": "nope"}) == []


def test_replicasets_carry_revision_hash_and_controller(cluster: Cluster) -> None:
    d = cluster.deployment("api", replicas=1)
    cluster.wait_revision("api", 1)
    [rs] = wait_for(lambda: cluster.replicasets("api") or None, 30, "the ReplicaSet")
    meta = rs["metadata"]
    assert meta["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert meta["name"] == f"api-{meta['labels']['pod-template-hash']}"
    [owner] = meta["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("Deployment", "api",
                                                                              d["metadata"]["uid"], True)
    # the selector and template gain the hash label; the Deployment's own template never has it
    assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == meta["labels"]["pod-template-hash"]
    assert "pod-template-hash" not in cluster.kube.get_deployment_raw(cluster.namespace, "api")["spec"][
        "template"]["metadata"]["labels"]


def test_pods_are_listed_by_selector_and_resolve_to_their_deployment(cluster: Cluster) -> None:
    cluster.deployment("cart", replicas=2)
    pods_of(cluster, "cart", 2)
    pods = cluster.kube.list_pods(cluster.namespace, {"app": "cart"})
    assert len(pods) == 2
    assert all(p.owner is not None and p.owner.kind == "ReplicaSet" for p in pods)
    assert {cluster.kube.owner_of(p) for p in pods} == {WorkloadRef(kind="Deployment", namespace=cluster.namespace,
                                                                    name="cart")}
    assert cluster.kube.resolve_pod(cluster.namespace, pods[0].name) == WorkloadRef(
        kind="Deployment", namespace=cluster.namespace, name="cart")
    assert cluster.kube.resolve_pod(cluster.namespace, "no-such-pod") is None
    hash_ = pods[0].labels["pod-template-hash"]
    assert len(cluster.kube.list_pods(cluster.namespace, f"app=cart,pod-template-hash={hash_}")) == 2
    assert cluster.kube.list_pods(cluster.namespace, "app=cart,pod-template-hash!=" + hash_) == []
    assert cluster.kube.list_pods(cluster.namespace, "app in (cart,other)") != []


def test_statefulset_pods_are_ordinal_and_resolve_to_it(cluster: Cluster) -> None:
    cluster.statefulset("db", replicas=1)
    [pod] = pods_of(cluster, "db", 1)
    assert pod["metadata"]["name"] == "db-0"
    info = cluster.kube.get_pod(cluster.namespace, "db-0")
    assert cluster.kube.owner_of(info) == WorkloadRef(kind="StatefulSet", namespace=cluster.namespace, name="db")
    workload = next(w for w in cluster.kube.list_workloads(cluster.namespace) if w.ref.name == "db")
    assert workload.ref.kind == "StatefulSet"


def test_controller_events_are_read_with_reason_and_object(cluster: Cluster) -> None:
    """The deployment controller's ScalingReplicaSet and the ReplicaSet controller's SuccessfulCreate: event
    reasons the rules match on, with the object they are about."""
    cluster.deployment("shop", replicas=1)

    def reasons() -> set[tuple[str, str, str]] | None:
        seen = {(e.reason, e.involved.kind, e.type) for e in cluster.kube.list_events(cluster.namespace)}
        wanted = {("ScalingReplicaSet", "Deployment", "Normal"), ("SuccessfulCreate", "ReplicaSet", "Normal")}
        return seen if wanted <= seen else None

    wait_for(reasons, 30, f"controller events on {cluster.server}")
    event = next(e for e in cluster.kube.list_events(cluster.namespace) if e.reason == "ScalingReplicaSet")
    assert event.involved == WorkloadRef(kind="Deployment", namespace=cluster.namespace, name="shop")
    assert "Scaled up replica set shop-" in event.message
    assert event.first_seen is not None and event.last_seen is not None and event.count >= 1
    # every event converts, including the scheduler's events.k8s.io ones on the real server (eventTime, no count)
    assert cluster.kube.stats.get("malformed_events", 0) == 0


@contextmanager
def fake_node(c: Cluster, name: str) -> Iterator[None]:
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"conformance": "yes"}},
            "spec": {"taints": [FAKE_TAINT]}}
    c.kube.call_json("create node", c.kube.core.create_node, body)
    try:
        yield
    finally:
        c.kube.call_json("delete node", c.kube.core.delete_node, name)


def test_nodes_are_listed(cluster: Cluster) -> None:
    name = f"{cluster.namespace}-node"
    with fake_node(cluster, name):
        node = next(n for n in cluster.kube.list_nodes() if n.name == name)
        assert node.ready is False  # no kubelet reports on it


# -- watches ---------------------------------------------------------------------------------------------

class Collector:
    """Runs the engine's Watcher in a thread and keeps what it yields."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher, self.stop = watcher, threading.Event()
        self.events: list[WatchEvent] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self.watcher.run(self.stop, timeout_seconds=5):
            with self.lock:
                self.events.append(event)

    def seen(self, type_: str, name: str) -> WatchEvent | None:
        with self.lock:
            return next((e for e in self.events if e.type == type_ and e.obj.get("metadata", {}).get("name")
                         == name), None)

    def synced(self) -> bool:
        with self.lock:
            return any(e.type == "SYNCED" for e in self.events)

    def close(self) -> None:
        self.stop.set()
        self.watcher.close()
        self.thread.join(10)


def _names(c: Collector, type_: str) -> set[str]:
    with c.lock:
        return {e.obj["metadata"]["name"] for e in c.events if e.type == type_ and "metadata" in e.obj}


@pytest.mark.parametrize("resource", ["deployments", "replicasets", "pods", "statefulsets"])
def test_watch_sees_additions_changes_and_deletions(cluster: Cluster, resource: str) -> None:
    collector = Collector(cluster.kube.watcher(resource, cluster.namespace))
    try:
        wait_for(collector.synced, 20, "the initial list")
        if resource == "statefulsets":
            cluster.statefulset("w", replicas=1)
            wait_for(lambda: collector.seen("ADDED", "w"), 20, "ADDED w")
            cluster.kube.scale("StatefulSet", cluster.namespace, "w", 2)
            wait_for(lambda: collector.seen("MODIFIED", "w"), 20, "MODIFIED w")
            cluster.kube.call_json("delete", cluster.kube.apps.delete_namespaced_stateful_set, "w", cluster.namespace)
            wait_for(lambda: collector.seen("DELETED", "w"), 20, "DELETED w")
            return
        cluster.deployment("w", replicas=1)
        if resource == "deployments":
            wait_for(lambda: collector.seen("ADDED", "w"), 20, "ADDED w")
            wait_for(lambda: collector.seen("MODIFIED", "w"), 20, "MODIFIED w (its status)")
            cluster.kube.delete_deployment(cluster.namespace, "w")
            wait_for(lambda: collector.seen("DELETED", "w"), 20, "DELETED w")
            return
        added = wait_for(lambda: [n for n in _names(collector, "ADDED") if n.startswith("w-")], 20, "ADDED w-*")
        cluster.kube.delete_deployment(cluster.namespace, "w")  # the garbage collector deletes what it owned
        wait_for(lambda: set(added) <= _names(collector, "DELETED"), 30, f"DELETED {added}")
    finally:
        collector.close()
    assert collector.watcher.stats["malformed_lines"] == 0


def test_event_watch_delivers_controller_events(cluster: Cluster) -> None:
    collector = Collector(cluster.kube.watcher("events", cluster.namespace))
    try:
        wait_for(collector.synced, 20, "the initial list")
        cluster.deployment("ev", replicas=1)

        def scaling() -> WatchEvent | None:
            with collector.lock:
                return next((e for e in collector.events if e.type == "ADDED"
                             and e.obj.get("reason") == "ScalingReplicaSet"), None)

        event = wait_for(scaling, 30, "a ScalingReplicaSet event through the watch")
        assert event.obj["involvedObject"]["name"] == "ev"
    finally:
        collector.close()


def test_node_watch_is_cluster_wide(cluster: Cluster) -> None:
    collector = Collector(cluster.kube.watcher("nodes"))
    name = f"{cluster.namespace}-watched"
    try:
        wait_for(collector.synced, 20, "the initial list")
        with fake_node(cluster, name):
            wait_for(lambda: collector.seen("ADDED", name), 20, f"ADDED node {name}")
        wait_for(lambda: collector.seen("DELETED", name), 20, f"DELETED node {name}")
    finally:
        collector.close()


def test_watch_resumed_after_410_relists_and_loses_nothing(cluster: Cluster) -> None:
    """A watcher whose resourceVersion has expired gets 410 Gone, lists again (every object as SYNC, so a
    change made while it was away is not lost) and watches on from the new list."""
    resource, create = cluster.expirable()
    create("before")
    expired = cluster.expire_watches()
    create("during")  # made while the watcher was away
    watcher = cluster.kube.watcher(resource, cluster.namespace)
    watcher.resource_version = expired
    collector = Collector(watcher)
    try:
        wait_for(collector.synced, 30, "a re-list after 410 Gone")
        assert watcher.stats["expired"] == 1, dict(watcher.stats)
        assert {"before", "during"} <= _names(collector, "SYNC")
        time.sleep(0.2)
        create("after")
        wait_for(lambda: collector.seen("ADDED", "after"), 20, "ADDED after, watched from the new list")
    finally:
        collector.close()
    assert watcher.stats["relists"] == 1 and watcher.stats["lists"] == 1, dict(watcher.stats)
    assert watcher.stats["reconnects"] == 0, dict(watcher.stats)
