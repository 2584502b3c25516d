"""The mutations the catalog's actions and chat make (KubeClient, each done the way kubectl does it), and
wait-healthy on a real rollout, the same on the emulator and on the real control plane."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tagent.actions import workloads as wl
from tagent.errors import PermanentError, TransientError
from tests.conformance.cluster import Cluster
from tests.fixtures.realk8s import REAL
from tests.waiting import wait_for

pytestmark = REAL


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_scale_through_the_scale_subresource(cluster: Cluster, kind: str) -> None:
    if kind == "Deployment":
        cluster.deployment("app", replicas=2)
        read_scale = cluster.kube.apps.read_namespaced_deployment_scale
    else:
        cluster.statefulset("app", replicas=2)
        read_scale = cluster.kube.apps.read_namespaced_stateful_set_scale
    assert cluster.kube.scale(kind, cluster.namespace, "app", 3) == 2
    scale = cluster.kube.call_json("get scale", read_scale, "app", cluster.namespace)
    assert (scale["kind"], scale["apiVersion"], scale["spec"]["replicas"]) == ("Scale", "autoscaling/v1", 3)
    assert scale["status"]["selector"] == "app=app"  # what an autoscaler reads
    obj = wl.read_workload(cluster.kube, kind, cluster.namespace, "app")
    assert obj["spec"]["replicas"] == 3 and obj["metadata"]["generation"] == 2
    assert cluster.kube.scale(kind, cluster.namespace, "app", 0) == 3
    with pytest.raises(PermanentError, match=r"replicas must be 0\.\.1000"):
        cluster.kube.scale(kind, cluster.namespace, "app", 1001)
    with pytest.raises(PermanentError, match="404"):
        cluster.kube.scale(kind, cluster.namespace, "missing", 1)


def test_rollout_restart_makes_a_new_revision_with_the_stamp(cluster: Cluster) -> None:
    cluster.deployment("web", replicas=1)
    cluster.wait_revision("web", 1)
    stamp = cluster.kube.rollout_restart(cluster.namespace, "web", at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert stamp == "2026-01-02T03:04:05Z"
    d = cluster.wait_revision("web", 2)
    assert d["spec"]["template"]["metadata"]["annotations"] == {wl.RESTARTED_AT: stamp}
    assert d["metadata"]["generation"] == 2
    by_revision = {wl.revision(rs): rs for rs in cluster.replicasets("web")}
    assert set(by_revision) == {1, 2}
    assert by_revision[2]["spec"]["template"]["metadata"]["annotations"] == {wl.RESTARTED_AT: stamp}
    # the same stamp again changes nothing: no third revision
    cluster.kube.rollout_restart(cluster.namespace, "web", at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert cluster.kube.get_deployment_raw(cluster.namespace, "web")["metadata"]["generation"] == 2


def test_restart_of_a_statefulset_stamps_its_template(cluster: Cluster) -> None:
    cluster.statefulset("db", replicas=1)
    stamp = cluster.kube.rollout_restart(cluster.namespace, "db", kind="StatefulSet")
    obj = wl.read_workload(cluster.kube, "StatefulSet", cluster.namespace, "db")
    assert wl.template_annotations(obj) == {wl.RESTARTED_AT: stamp}
    assert obj["metadata"]["generation"] == 2


def test_delete_deployment_takes_its_replicasets_and_pods(cluster: Cluster) -> None:
    cluster.deployment("gone", replicas=2)
    wait_for(lambda: len(cluster.kube.list_pods(cluster.namespace, {"app": "gone"})) == 2, 30, "two pods")
    cluster.kube.delete_deployment(cluster.namespace, "gone")
    with pytest.raises(PermanentError, match="404"):
        cluster.kube.get_deployment_raw(cluster.namespace, "gone")
    wait_for(lambda: not cluster.kube.list_raw("replicasets", cluster.namespace)[0], 60,
             f"the garbage collector to delete the ReplicaSets on {cluster.server}")
    wait_for(lambda: not [p for p in cluster.kube.list_pods(cluster.namespace, {"app": "gone"}) if not p.deleting],
             60, f"the pods to go on {cluster.server}")
    with pytest.raises(PermanentError, match="404"):
        cluster.kube.delete_deployment(cluster.namespace, "gone")


def test_delete_pod_is_replaced_by_its_replicaset(cluster: Cluster) -> None:
    cluster.deployment("pod", replicas=1)
    [first] = wait_for(lambda: cluster.kube.list_pods(cluster.namespace, {"app": "pod"}) or None, 30, "a pod")
    cluster.kube.delete_pod(cluster.namespace, first.name, grace_period_seconds=0)
    replacement = wait_for(lambda: [p for p in cluster.kube.list_pods(cluster.namespace, {"app": "pod"})
                                    if p.name != first.name and not p.deleting], 30, "a replacement pod")
    assert replacement[0].owner == first.owner
    with pytest.raises(PermanentError, match="404"):
        cluster.kube.get_pod(cluster.namespace, first.name)


def test_eviction_honours_the_disruption_budget(cluster: Cluster) -> None:
    cluster.deployment("guarded", replicas=2)
    cluster.make_ready("app=guarded", count=2)
    policy: Any = k8s.PolicyV1Api(cluster.api)
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
           "metadata": {"name": "guarded", "namespace": cluster.namespace},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "guarded"}}}}
    policy.create_namespaced_pod_disruption_budget(cluster.namespace, pdb)

    def observed() -> bool:
        got = policy.read_namespaced_pod_disruption_budget("guarded", cluster.namespace)
        return bool(got.status and got.status.current_healthy == 2 and got.status.expected_pods == 2)

    wait_for(observed, 30, f"the disruption controller to count the pods on {cluster.server}")
    victim = cluster.kube.list_pods(cluster.namespace, {"app": "guarded"})[0].name
    with pytest.raises(TransientError, match="429"):
        cluster.kube.evict_pod(cluster.namespace, victim)
    policy.patch_namespaced_pod_disruption_budget("guarded", cluster.namespace, {"spec": {"minAvailable": 1}})
    wait_for(lambda: (policy.read_namespaced_pod_disruption_budget("guarded", cluster.namespace).status
                      .disruptions_allowed == 1), 30, "one disruption allowed")
    cluster.kube.evict_pod(cluster.namespace, victim)
    wait_for(lambda: all(p.name != victim or p.deleting for p in cluster.kube.list_pods(cluster.namespace)), 30,
             "the evicted pod to go")


def test_wait_healthy_follows_a_real_rollout(cluster: Cluster) -> None:
    """wait-healthy's test (kubectl rollout status, two polls in a row) passes only once the new ReplicaSet's
    pods are all ready and the old ReplicaSet is scaled to 0."""
    cluster.deployment("roll", replicas=2, image="registry.example/roll:1")
    cluster.make_ready("app=roll", count=2)
    wait_for(lambda: wl.deployment_health(cluster.kube, cluster.namespace, "roll").healthy, 30, "v1 healthy")
    cluster.set_image("roll", "registry.example/roll:2")
    if cluster.server == "real":  # nothing makes the new pods ready but this test: the rollout must wait
        health = wl.deployment_health(cluster.kube, cluster.namespace, "roll")
        assert not health.healthy and not health.stalled, health
        status = cluster.kube.rollout_status(cluster.namespace, "roll")
        assert not status.complete

    def healthy_twice() -> bool:
        if cluster.sandbox is None:
            cluster.make_ready("app=roll")  # the pods the controller made so far, as a kubelet would
        return all(wl.deployment_health(cluster.kube, cluster.namespace, "roll").healthy for _ in range(2))

    wait_for(healthy_twice, 90, f"the rollout on {cluster.server}", interval=0.3)
    status = cluster.kube.rollout_status(cluster.namespace, "roll")
    assert status.complete and status.updated_replicas == 2 and status.available_replicas == 2, status
    by_revision = {wl.revision(rs): rs for rs in cluster.replicasets("roll")}
    assert by_revision[2]["spec"]["replicas"] == 2 and by_revision[1]["spec"]["replicas"] == 0
    live = [p for p in cluster.kube.list_pods(cluster.namespace, {"app": "roll"}) if not p.deleting]
    new_hash = by_revision[2]["metadata"]["labels"]["pod-template-hash"]
    assert len([p for p in live if p.labels["pod-template-hash"] == new_hash and p.ready]) == 2


def test_a_rollout_that_makes_no_progress_is_reported_stalled(cluster: Cluster) -> None:
    """ProgressDeadlineExceeded from the deployment controller: wait-healthy stops at once ("stalled")
    instead of waiting for its timeout, and the workload source reports the stall."""
    cluster.deployment("stuck", replicas=1, image="registry.example/stuck:1")
    cluster.make_ready("app=stuck", count=1)
    wait_for(lambda: wl.deployment_health(cluster.kube, cluster.namespace, "stuck").healthy, 30, "v1 healthy")
    patch = [{"op": "add", "path": "/spec/progressDeadlineSeconds", "value": 2},
             {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "registry.example/stuck:2"}]
    cluster.kube.call_json("patch", cluster.kube.apps.patch_namespaced_deployment, "stuck", cluster.namespace, patch,
                           _content_type="application/json-patch+json")
    if cluster.sandbox is not None:  # the new version's pods crash before they are ready (no kubelet on real)
        cluster.sandbox.inject("crashloop", cluster.namespace, "stuck", after=0.2)
    health = wait_for(lambda: (lambda h: h if h.stalled else None)(
        wl.deployment_health(cluster.kube, cluster.namespace, "stuck")), 60, f"a stall on {cluster.server}")
    assert not health.healthy and "exceeded its progress deadline" in health.message
    info = cluster.kube.get_deployment(cluster.namespace, "stuck")
    assert info.conditions["Progressing"] == ("False", "ProgressDeadlineExceeded")
    assert info.conditions["Available"][0] == "True"  # the old pod still serves


def test_pods_failing_after_a_finished_rollout_are_not_a_stalled_rollout(cluster: Cluster) -> None:
    """The deadline counts only while a rollout is in progress: a crash loop of a settled Deployment must not
    read as a stalled rollout (the engine would roll back instead of restarting)."""
    cluster.deployment("settled", replicas=1)
    patch = [{"op": "add", "path": "/spec/progressDeadlineSeconds", "value": 2}]
    cluster.kube.call_json("patch", cluster.kube.apps.patch_namespaced_deployment, "settled", cluster.namespace,
                           patch, _content_type="application/json-patch+json")
    cluster.make_ready("app=settled", count=1)
    wait_for(lambda: cluster.kube.rollout_status(cluster.namespace, "settled").complete, 30, "the rollout done")
    if cluster.sandbox is not None:
        cluster.sandbox.inject("crashloop", cluster.namespace, "settled", after=0.2)
    else:  # what a kubelet reports for a crash-looping container
        [pod] = cluster.kube.list_raw("pods", cluster.namespace, {"app": "settled"})[0]
        body = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
                           "containerStatuses": [{"name": "app", "image": "registry.example/app:1.0", "imageID": "",
                                                  "ready": False, "restartCount": 3, "started": False,
                                                  "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
        cluster.kube.call_json("pod status", cluster.kube.core.patch_namespaced_pod_status, pod["metadata"]["name"],
                               cluster.namespace, body, _content_type="application/strategic-merge-patch+json")
    wait_for(lambda: cluster.kube.get_deployment(cluster.namespace, "settled").available_replicas == 0, 30,
             "the pod to be unavailable")
    time.sleep(4 if cluster.sandbox is None else 1.5)  # twice the deadline (sandbox time runs 10x)
    info = cluster.kube.get_deployment(cluster.namespace, "settled")
    assert info.conditions["Progressing"] == ("True", "NewReplicaSetAvailable"), info.conditions
    assert not wl.deployment_health(cluster.kube, cluster.namespace, "settled").stalled


# -- Leases (the simulated kubelet's heartbeats; any leader election) -------------------------------------

def test_lease_create_get_renew_and_conflict(cluster: Cluster) -> None:
    api: Any = k8s.CoordinationV1Api(cluster.api)
    now = datetime.now(UTC)
    body = k8s.V1Lease(metadata=k8s.V1ObjectMeta(name="leader", namespace=cluster.namespace),
                       spec=k8s.V1LeaseSpec(holder_identity="engine-a", lease_duration_seconds=15,
                                            acquire_time=now, renew_time=now, lease_transitions=0))
    created = api.create_namespaced_lease(cluster.namespace, body)
    with pytest.raises(ApiException) as exists:
        api.create_namespaced_lease(cluster.namespace, body)
    assert exists.value.status == 409
    got = api.read_namespaced_lease("leader", cluster.namespace)
    assert got.spec.holder_identity == "engine-a" and got.spec.lease_duration_seconds == 15
    assert got.metadata.resource_version == created.metadata.resource_version
    # renew: an update carrying the resourceVersion read
    got.spec.renew_time = datetime.now(UTC)
    renewed = api.replace_namespaced_lease("leader", cluster.namespace, got)
    assert renewed.metadata.resource_version != got.metadata.resource_version
    # a second holder that read before the renewal loses: 409 Conflict, the lease unchanged
    stale = got
    stale.spec.holder_identity = "engine-b"
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_lease("leader", cluster.namespace, stale)
    assert conflict.value.status == 409
    assert "the object has been modified" in str(conflict.value.body)
    assert api.read_namespaced_lease("leader", cluster.namespace).spec.holder_identity == "engine-a"
    # a take-over from the current version succeeds; a patch with a stale version conflicts too
    current = api.read_namespaced_lease("leader", cluster.namespace)
    current.spec.holder_identity, current.spec.lease_transitions = "engine-b", 1
    assert api.replace_namespaced_lease("leader", cluster.namespace, current).spec.holder_identity == "engine-b"
    with pytest.raises(ApiException) as patched:
        api.patch_namespaced_lease("leader", cluster.namespace, {"metadata": {"resourceVersion": renewed.metadata
                                   .resource_version}, "spec": {"holderIdentity": "engine-c"}})
    assert patched.value.status == 409
    api.delete_namespaced_lease("leader", cluster.namespace)
    with pytest.raises(ApiException) as missing:
        api.read_namespaced_lease("leader", cluster.namespace)
    assert missing.value.status == 404
