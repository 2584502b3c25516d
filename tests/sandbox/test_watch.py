"""Watches through the Python client: resume from a resourceVersion, bookmarks, timeouts and 410 Expired."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tagent.sandbox import Sandbox
from tests.sandbox.helpers import wait_for


def test_watch_resumes_from_a_resource_version(kube_api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    listed = core.list_namespaced_pod("shop", label_selector="app=cart")
    rv = listed.metadata.resource_version
    apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 3}})
    wait_for(lambda: len(core.list_namespaced_pod("shop", label_selector="app=cart").items) == 3,
             what="the third pod, created while nobody watches")
    seen: list[tuple[str, str]] = []
    for event in watch.Watch().stream(core.list_namespaced_pod, "shop", label_selector="app=cart",
                                      resource_version=rv, timeout_seconds=2):
        seen.append((event["type"], event["object"].metadata.name))
        assert isinstance(event["object"], client.V1Pod)
        assert int(event["object"].metadata.resource_version) > int(rv)
    added = {name for kind, name in seen if kind == "ADDED"}
    assert len(added) == 1 and not added & {p.metadata.name for p in listed.items}
    assert all(name.startswith("cart-") for _, name in seen)


def test_watch_without_version_lists_first_and_delete_carries_the_object(kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    w = watch.Watch()
    events = []
    for event in w.stream(core.list_namespaced_pod, "test", timeout_seconds=3):
        events.append(event)
        if event["type"] == "ADDED" and len(events) == 1:
            core.delete_namespaced_pod(event["object"].metadata.name, "test")
        if event["type"] == "DELETED":
            w.stop()
    assert events[0]["type"] == "ADDED"
    deleted = next(e for e in events if e["type"] == "DELETED")
    assert deleted["object"].metadata.name == events[0]["object"].metadata.name
    assert deleted["object"].spec.containers[0].image == "python:3.12"  # the full object


def test_watch_ends_at_timeout_and_sends_bookmarks(kube_api: client.ApiClient) -> None:
    apps = client.AppsV1Api(kube_api)
    rv = apps.list_namespaced_deployment("shop").metadata.resource_version
    started = time.monotonic()
    kinds = [e["type"] for e in watch.Watch().stream(apps.list_namespaced_deployment, "shop", resource_version=rv,
                                                      allow_watch_bookmarks=True, timeout_seconds=2)]
    assert 1.5 < time.monotonic() - started < 6
    assert "BOOKMARK" in kinds


def test_too_old_resource_version_is_410(sandbox: Sandbox, kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    rv = core.list_namespaced_pod("shop").metadata.resource_version
    client.AppsV1Api(kube_api).patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 3}})
    sandbox.store.compact()  # as etcd compaction: the history before now is gone
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(core.list_namespaced_pod, "shop", resource_version=rv, timeout_seconds=2):
            pass
    assert err.value.status == 410

    raw = httpx.get(f"{sandbox.url}/api/v1/namespaces/shop/pods",
                    params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1"},
                    headers={"Authorization": f"Bearer {sandbox.token}"}, timeout=10)
    event = json.loads(raw.text.splitlines()[0])
    assert event["type"] == "ERROR"
    assert event["object"]["kind"] == "Status" and event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    fresh = core.list_namespaced_pod("shop").metadata.resource_version  # re-list, then watch again works
    client.AppsV1Api(kube_api).patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 2}})
    types = [e["type"] for e in watch.Watch().stream(core.list_namespaced_pod, "shop", label_selector="app=cart",
                                                     resource_version=fresh, timeout_seconds=1)]
    assert "DELETED" in types
