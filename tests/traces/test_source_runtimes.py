"""Runtimes from spans: the inventory follows what a workload's spans report (telemetry.sdk.language), on a real
span store and a real (sandbox) cluster; an explicit label still wins and a store failure loses no listing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tagent.clients.kubernetes import KubeClient
from tagent.model.core import WorkloadRef
from tagent.model.inventory import NodeInfo, Runtime, WorkloadInfo
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tagent.sources.inventory import InventorySource
from tagent.store import Store
from tagent.traces.otlp import Sanitizer, decode
from tagent.traces.runtimes import OtelRuntimes
from tagent.traces.service import Traces
from tests.traces.otlp import chain, request


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'tagent.db'}")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def traces(tmp_path: Path, store: Store) -> Iterator[Traces]:
    t = Traces.from_settings(Settings(data_dir=tmp_path), store)
    t.start()
    try:
        yield t
    finally:
        t.stop()


def spans_from(traces: Traces, service: str, **resource: str) -> None:
    assert traces.ingest(decode(request(chain([service], random.Random(3)), resource=resource), Sanitizer()))
    assert traces.flush(10)


def test_the_inventory_takes_the_runtime_the_spans_report(traces: Traces, sandbox: Sandbox, kubeconfig: Any,
                                                          kube_api: client.ApiClient) -> None:
    client.AppsV1Api(kube_api).create_namespaced_deployment("shop", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "payment-api"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "payment-api"}},
                 "template": {"metadata": {"labels": {"app": "payment-api"}},
                              "spec": {"containers": [{"name": "app", "image": "ghcr.io/acme/payment-api:2"}]}}}})
    seen: list[list[WorkloadInfo]] = []

    def changed(workloads: list[WorkloadInfo], nodes: list[NodeInfo]) -> None:
        seen.append(workloads)

    kube = KubeClient.from_kubeconfig(kubeconfig)
    source = InventorySource(kube, changed, namespace="shop")
    source.refine = OtelRuntimes(traces)
    try:
        assert source.poll_once() == 1
        assert {w.ref.name: w.runtime for w in seen[-1]}["payment-api"] == Runtime.unknown
        spans_from(traces, "shop/payment-api", **{"telemetry.sdk.language": "java"})
        spans_from(traces, "shop/cart", **{"telemetry.sdk.language": "java"})  # cart's image says Go
        assert source.poll_once() == 1  # the spans changed the picture: the store hears of it
        runtimes = {w.ref.name: w.runtime for w in seen[-1]}
        assert runtimes["payment-api"] == Runtime.java and runtimes["cart"] == Runtime.java
        assert runtimes["frontend"] == Runtime.nodejs  # no spans: its image decides
        assert source.poll_once() == 0
    finally:
        kube.close()


def test_an_explicit_label_wins_and_resources_are_read_once_per_ten_minutes(traces: Traces) -> None:
    spans_from(traces, "shop/api", **{"telemetry.sdk.language": "python"})
    spans_from(traces, "shop/pinned", **{"telemetry.sdk.language": "python"})
    reads: list[str] = []
    original = traces.resource

    def counted(service: str) -> dict[str, Any] | None:
        reads.append(service)
        return original(service)

    traces.resource = counted  # type: ignore[method-assign]
    clock = [0.0]
    refine = OtelRuntimes(traces, monotonic=lambda: clock[0])
    workloads = [WorkloadInfo(ref=WorkloadRef(namespace="shop", name="api"), runtime=Runtime.go),
                 WorkloadInfo(ref=WorkloadRef(namespace="shop", name="pinned"), runtime=Runtime.go,
                              labels={"tagent.io/runtime": "go"}),
                 WorkloadInfo(ref=WorkloadRef(namespace="shop", name="quiet"), runtime=Runtime.go)]
    assert [w.runtime for w in refine(workloads)] == [Runtime.python, Runtime.go, Runtime.go]
    spans_from(traces, "shop/api", **{"telemetry.sdk.language": "python"})  # seen again: no new read yet
    assert [w.runtime for w in refine(workloads)] == [Runtime.python, Runtime.go, Runtime.go]
    assert sorted(reads) == ["shop/api", "shop/pinned"]
    clock[0] = 601.0  # ten minutes on: read again
    assert [w.runtime for w in refine(workloads)] == [Runtime.python, Runtime.go, Runtime.go]
    assert sorted(reads) == ["shop/api", "shop/api", "shop/pinned", "shop/pinned"]


def test_a_failing_span_store_keeps_the_listing(traces: Traces, store: Store, sandbox: Sandbox,
                                                kubeconfig: Any) -> None:
    seen: list[list[WorkloadInfo]] = []
    kube = KubeClient.from_kubeconfig(kubeconfig)
    source = InventorySource(kube, lambda w, n: seen.append(w), namespace="shop")
    with store.db.write_core() as conn:  # the span tables are gone: every query of them fails
        conn.exec_driver_sql("DROP TABLE span_resources")
    source.refine = OtelRuntimes(traces)
    try:
        assert source.poll_once() == 1 and {w.ref.name for w in seen[-1]} >= {"frontend", "cart"}
        assert source.stats["refine_errors"] == 1
    finally:
        kube.close()
