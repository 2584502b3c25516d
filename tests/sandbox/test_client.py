"""The official `kubernetes` Python client against the sandbox: typed lists, errors, patches, leases."""

from __future__ import annotations

import datetime as dt
import re
import time

import httpx
import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tagent.sandbox import Sandbox
from tests.sandbox.helpers import wait_for


def test_typed_lists_of_every_served_kind(kube_api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    nodes = core.list_node()
    assert [n.metadata.name for n in nodes.items] == ["node-a", "node-b", "node-c"]
    assert nodes.items[0].status.node_info.kubelet_version == "v1.32.0"
    assert nodes.items[0].status.capacity["cpu"] == "4"
    assert {ns.metadata.name for ns in core.list_namespace().items} >= {"default", "kube-system", "shop", "test"}
    pods = core.list_namespaced_pod("shop", label_selector="app=frontend")
    assert len(pods.items) == 3 and pods.metadata.resource_version.isdigit()
    pod = pods.items[0]
    assert pod.status.phase == "Running" and pod.status.container_statuses[0].ready
    assert pod.metadata.creation_timestamp.tzinfo is not None  # RFC 3339 with Z
    assert pod.spec.node_name in {"node-a", "node-b", "node-c"}
    assert core.list_pod_for_all_namespaces(field_selector="status.phase=Running").items
    assert not core.list_namespaced_pod("shop", label_selector="app in (nope)").items
    assert core.list_namespaced_pod("empty-ns-is-fine").items == []

    deploy = apps.read_namespaced_deployment("payment-service", "shop")
    assert deploy.spec.template.spec.containers[0].image == "eclipse-temurin:21"
    assert deploy.status.ready_replicas == 2 and deploy.status.observed_generation == deploy.metadata.generation
    rs = apps.list_namespaced_replica_set("shop", label_selector="app=payment-service").items
    assert len(rs) == 1
    assert rs[0].metadata.owner_references[0].uid == deploy.metadata.uid
    assert rs[0].metadata.owner_references[0].controller is True
    assert rs[0].metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    owned = core.list_namespaced_pod("shop", label_selector="app=payment-service").items
    assert all(p.metadata.owner_references[0].name == rs[0].metadata.name for p in owned)
    assert all(p.metadata.labels["pod-template-hash"] == rs[0].metadata.labels["pod-template-hash"] for p in owned)

    sts = apps.read_namespaced_stateful_set("postgres", "shop")
    assert sts.status.ready_replicas == 1 and sts.spec.service_name == "postgres"
    svc = core.read_namespaced_service("cart", "shop")
    assert svc.spec.ports[0].port == 8080 and svc.spec.selector == {"app": "cart"}
    assert core.list_namespaced_event("shop").items == []  # a settled cluster has no fresh events


def test_errors_are_kubernetes_statuses(sandbox: Sandbox, kube_api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_pod("nope", "shop")
    assert err.value.status == 404 and '"reason":"NotFound"' in err.value.body
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name="shop"))
    with pytest.raises(ApiException) as err:
        core.create_namespace(body)
    assert err.value.status == 409 and "AlreadyExists" in err.value.body
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("cart", "shop", {"spec": {"replicas": -1}})
    assert err.value.status == 422 and "spec.replicas" in err.value.body
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("cart", "shop", {"spec": {"selector": {"matchLabels": {"app": "x"}}}})
    assert err.value.status == 422

    anonymous = client.ApiClient(client.Configuration(host=sandbox.url))
    try:
        with pytest.raises(ApiException) as err:
            client.CoreV1Api(anonymous).list_namespaced_pod("shop")
        assert err.value.status == 401
    finally:
        anonymous.close()
    config = client.Configuration(host=sandbox.url)
    config.api_key = {"authorization": "Bearer wrong"}
    wrong = client.ApiClient(config)
    try:
        with pytest.raises(ApiException) as err:
            client.VersionApi(wrong).get_code()
        assert err.value.status == 401
    finally:
        wrong.close()
    assert client.VersionApi(kube_api).get_code().minor == "32"


def test_three_patch_types_and_unknown_type(kube_api: client.ApiClient) -> None:
    apps = client.AppsV1Api(kube_api)
    gen = apps.read_namespaced_deployment("cart", "shop").metadata.generation
    # a dict body: the client sends strategic merge; containers merge by name
    patched = apps.patch_namespaced_deployment("cart", "shop", {"spec": {"template": {"spec": {"containers": [
        {"name": "cart", "env": [{"name": "FEATURE", "value": "on"}]}]}}}})
    env = {e.name: e.value for e in patched.spec.template.spec.containers[0].env}
    assert env == {"APP_VERSION": "1.0.0", "FEATURE": "on"}
    assert patched.spec.template.spec.containers[0].image == "golang:1.22"
    assert patched.metadata.generation == gen + 1

    merged = apps.patch_namespaced_deployment(
        "cart", "shop", {"metadata": {"labels": {"team": "payments"}}, "spec": {"replicas": 3}},
        _content_type="application/merge-patch+json")
    assert merged.metadata.labels["team"] == "payments" and merged.spec.replicas == 3

    json_patched = apps.patch_namespaced_deployment("cart", "shop", [
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "replace", "path": "/spec/replicas", "value": 1},
        {"op": "remove", "path": "/metadata/labels/team"}])
    assert json_patched.spec.replicas == 1 and "team" not in json_patched.metadata.labels
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment("cart", "shop", [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert err.value.status == 422

    for unsupported in ("application/yaml", "application/apply-patch+yaml"):
        with pytest.raises(ApiException) as err:
            apps.patch_namespaced_deployment("cart", "shop", {"spec": {"replicas": 2}}, _content_type=unsupported)
        assert err.value.status == 415 and "UnsupportedMediaType" in err.value.body

    scale = apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 2}})
    assert scale.spec.replicas == 2 and scale.status.selector == "app=cart"
    sts = apps.patch_namespaced_stateful_set_scale("postgres", "shop", {"spec": {"replicas": 2}})
    assert sts.spec.replicas == 2
    assert apps.read_namespaced_stateful_set_scale("postgres", "shop").spec.replicas == 2


def test_rollout_restart_by_strategic_patch_creates_a_new_revision(kube_api: client.ApiClient) -> None:
    apps = client.AppsV1Api(kube_api)
    stamp = dt.datetime.now(dt.UTC).isoformat()
    apps.patch_namespaced_deployment("frontend", "shop", {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": stamp}}}}})

    def revisions() -> list[str] | None:
        items = apps.list_namespaced_replica_set("shop", label_selector="app=frontend").items
        revs = sorted(rs.metadata.annotations["deployment.kubernetes.io/revision"] for rs in items)
        return revs if revs == ["1", "2"] else None

    wait_for(revisions, what="a second ReplicaSet")
    d = wait_for(lambda: (d := apps.read_namespaced_deployment("frontend", "shop")).status.observed_generation
                 == d.metadata.generation and d.status.updated_replicas == 3 and d, what="observed generation")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"


def test_delete_returns_the_pod_and_deployment_delete_collects_garbage(kube_api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    pod = core.list_namespaced_pod("test").items[0]
    gone = core.delete_namespaced_pod(pod.metadata.name, "test")
    assert isinstance(gone, client.V1Pod) and gone.metadata.uid == pod.metadata.uid
    apps.delete_namespaced_deployment("test-env", "test")
    wait_for(lambda: not core.list_namespaced_pod("test").items
             and not apps.list_namespaced_replica_set("test").items, what="garbage collection")


def test_leases_for_leader_election(kube_api: client.ApiClient) -> None:
    coord = client.CoordinationV1Api(kube_api)
    now = dt.datetime.now(dt.UTC)
    spec = client.V1LeaseSpec(holder_identity="engine-a", lease_duration_seconds=15, acquire_time=now,
                              renew_time=now, lease_transitions=0)
    with pytest.raises(ApiException) as err:
        coord.read_namespaced_lease("tagent-leader", "default")
    assert err.value.status == 404
    created = coord.create_namespaced_lease("default", client.V1Lease(
        metadata=client.V1ObjectMeta(name="tagent-leader"), spec=spec))
    assert created.spec.holder_identity == "engine-a" and created.spec.renew_time.tzinfo is not None
    created.spec.renew_time = now + dt.timedelta(seconds=5)
    renewed = coord.replace_namespaced_lease("tagent-leader", "default", created)
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)
    created.spec.holder_identity = "engine-b"  # stale resourceVersion: someone else won
    with pytest.raises(ApiException) as err:
        coord.replace_namespaced_lease("tagent-leader", "default", created)
    assert err.value.status == 409
    assert coord.read_namespaced_lease("tagent-leader", "default").spec.holder_identity == "engine-a"


def test_eviction_respects_the_disruption_budget(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name="postgres-0", namespace="shop"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod_eviction("postgres-0", "shop", body)
    assert err.value.status == 429 and "disruption budget" in err.value.body
    pod = core.list_namespaced_pod("shop", label_selector="app=cart").items[0]
    core.create_namespaced_pod_eviction(pod.metadata.name, "shop", client.V1Eviction(
        metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace="shop")))
    names = [p.metadata.name for p in core.list_namespaced_pod("shop", label_selector="app=cart").items]
    assert pod.metadata.name not in names


def test_metrics_api_for_pods_and_nodes(kube_api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(kube_api)
    pods = custom.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "shop", "pods",
                                                label_selector="app=payment-service")
    assert pods["kind"] == "PodMetricsList" and len(pods["items"]) == 2
    item = pods["items"][0]
    assert item["window"] == "30s" and item["timestamp"].endswith("Z")
    usage = item["containers"][0]["usage"]
    assert usage["cpu"].endswith("n") and usage["memory"].endswith("Ki")
    assert 150e6 < int(usage["cpu"][:-1]) < 400e6  # ~250m of a Java service
    nodes = custom.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert {n["metadata"]["name"] for n in nodes["items"]} == {"node-a", "node-b", "node-c"}
    one = custom.get_namespaced_custom_object("metrics.k8s.io", "v1beta1", "shop", "pods", item["metadata"]["name"])
    assert one["metadata"]["name"] == item["metadata"]["name"]


def test_metrics_api_and_prometheus_exposition_agree(sandbox: Sandbox, kube_api: client.ApiClient) -> None:
    served_once = re.compile(r'^http_requests_total\{namespace="shop",deployment="frontend",pod="frontend-[^"]+",'
                             r'method="GET",code="200"\} \d', re.M)
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline and not served_once.search(text):  # the first requests take a tick
        text = httpx.get(sandbox.metrics_url, timeout=5).text  # unauthenticated, for a Prometheus scrape
        time.sleep(0.1)
    exposed = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^container_memory_working_set_bytes\{[^}]*pod="([^"]+)"[^}]*\} (\S+)$', text, re.M)}
    items = client.CustomObjectsApi(kube_api).list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "shop", "pods")["items"]
    served = {i["metadata"]["name"]: int(i["containers"][0]["usage"]["memory"][:-2]) * 1024 for i in items}
    assert set(served) <= set(exposed) and len(served) == 11
    for pod, value in served.items():
        assert abs(value - exposed[pod]) / value < 0.05, pod
    assert '# TYPE http_requests_total counter' in text
    assert served_once.search(text)
    only_test = httpx.get(f"{sandbox.metrics_url}/test", timeout=5).text
    assert 'namespace="test"' in only_test and 'namespace="shop"' not in only_test


def test_a_stopped_sandbox_is_unreachable_even_on_kept_alive_connections(sandbox: Sandbox,
                                                                       kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    kube_api.configuration.retries = 0
    assert len(core.list_node().items) == 3  # opens a pooled keep-alive connection
    sandbox.stop()
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.list_node(_request_timeout=5)
