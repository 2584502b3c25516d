"""Zero-config sources on the sandbox: log patterns through the pod log API, metrics through metrics.k8s.io,
the inventory; and the named metrics through a real Prometheus scraping the sandbox's exposition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from tagent.clients.exposition import ExpositionClient
from tagent.clients.kubernetes import KubeClient
from tagent.clients.prometheus import PrometheusClient
from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.model.inventory import NodeInfo, Runtime, WorkloadInfo
from tagent.model.policy import condition_key
from tagent.sources.base import SourceQuery
from tagent.sources.inventory import InventorySource
from tagent.sources.logs import LogSource
from tagent.sources.metrics import MetricsSource
from tests.clients import promstack
from tests.sources.helpers import of, step_until

FAST = pytest.mark.parametrize("sandbox", [{"speed": 20}], indirect=True)
CHECKOUT = WorkloadRef(kind="Deployment", namespace="shop", name="checkout")
HTTP_500 = SourceQuery(condition_key("http-500", 0), r'" 500 ', 60.0)


@pytest.fixture
def kube(kube_api: k8s.ApiClient) -> KubeClient:
    return KubeClient(kube_api, request_timeout=10)


@FAST
def test_log_pattern_counts_follow_an_error_spike(kube: KubeClient, sandbox: Any) -> None:
    events: list[Event] = []
    source = LogSource([HTTP_500], events.append, kube=kube, namespace="shop", clock=sandbox.clock.now)
    source.poll_once()
    assert of(events, HTTP_500.key) == []  # a healthy shop serves no 500s
    sandbox.inject("error-spike", "shop", "checkout")
    step_until(source.poll_once, events, lambda evs: any(e.values["count"] >= 10 for e in of(evs, HTTP_500.key)))
    hits = of(events, HTTP_500.key)
    assert {e.target for e in hits} == {CHECKOUT}
    for e in hits:
        assert e.source == EventSource.logs and e.kind == "LogPattern" and e.values["window_s"] == 60.0
        assert e.labels["app"] == "checkout"
    counts = [e.values["count"] for e in hits]
    assert counts == sorted(counts)  # the window fills up; nothing is counted twice across rounds
    assert source.stats["non_utf8_lines"] == 0

    sandbox.inject("heal", "shop", "checkout")
    step_until(source.poll_once, events, lambda evs: of(evs, HTTP_500.key)[-1].values["count"] == 0, timeout=60)


@FAST
def test_zero_config_metrics_per_workload(kube: KubeClient, sandbox: Any) -> None:
    events: list[Event] = []
    source = MetricsSource(events.append, kube=kube, clock=sandbox.clock.now)
    assert source.available == ("cpu_utilization", "memory_utilization", "restarts")
    source.poll_once()
    cart = {e.reason: e for e in events if e.target == WorkloadRef(namespace="shop", name="cart")}
    assert set(cart) == {"cpu_utilization", "memory_utilization", "restarts"}
    assert cart["restarts"].values["value"] == 0.0
    # the scenario's cart uses ~40m of its 50m request and ~48Mi of its 64Mi
    assert 0.4 < cart["cpu_utilization"].values["value"] < 1.2
    assert 0.5 < cart["memory_utilization"].values["value"] < 1.0
    assert cart["cpu_utilization"].labels["tier"] == "backend"
    db = [e for e in events if e.target == WorkloadRef(kind="StatefulSet", namespace="shop", name="postgres")]
    assert len(db) == 3

    sandbox.inject("load", "shop", "cart", factor=10)
    before = cart["cpu_utilization"].values["value"]
    events.clear()
    step_until(source.poll_once, events, lambda evs: any(
        e.reason == "cpu_utilization" and e.target.name == "cart" and e.values["value"] > 2 * before for e in evs))


@FAST
def test_inventory_reports_changes_only(kube: KubeClient) -> None:
    seen: list[tuple[list[WorkloadInfo], list[NodeInfo]]] = []
    source = InventorySource(kube, lambda w, n: seen.append((w, n)))
    assert source.poll_once() == 1
    workloads, nodes = seen[0]
    runtimes = {w.ref.name: w.runtime for w in workloads}
    assert runtimes["payment-service"] == Runtime.java and runtimes["redis-cache"] == Runtime.cache
    assert len(nodes) == 3
    assert source.poll_once() == 0 and len(seen) == 1
    kube.delete_deployment("test", "test-env")
    assert source.poll_once() == 1
    assert "test-env" not in {w.ref.name for w in seen[-1][0]}


@promstack.needs_prometheus
@pytest.mark.xdist_group("prometheus")
@FAST
def test_error_rate_from_prometheus_scraping_the_sandbox(kube: KubeClient, sandbox: Any, tmp_path: Path) -> None:
    target = sandbox.metrics_url.removeprefix("http://")
    host, _, path = target.partition("/")
    with promstack.prometheus(tmp_path, [host], interval="500ms", metrics_path="/" + path) as url, \
            PrometheusClient(url) as prom:
        events: list[Event] = []
        source = MetricsSource(events.append, prometheus=prom, kube=kube, rate_window="5s",
                               clock=sandbox.clock.now)
        step_until(source.poll_once, events, lambda evs: of(evs, "error_rate", "checkout"), timeout=30)
        assert of(events, "error_rate", "checkout")[-1].values["value"] < 0.02
        sandbox.inject("error-spike", "shop", "checkout")
        step_until(source.poll_once, events,
                   lambda evs: of(evs, "error_rate", "checkout")[-1].values["value"] > 0.2, timeout=30)
        latest = of(events, "error_rate", "checkout")[-1]
        assert latest.target == CHECKOUT and latest.labels["tier"] == "backend"
        assert {e.reason for e in events} == {"request_rate", "error_rate", "latency_p99", "restarts",
                                             "cpu_utilization", "memory_utilization"}


@FAST
def test_traffic_metrics_from_the_sandbox_exposition_without_prometheus(kube: KubeClient, sandbox: Any) -> None:
    events: list[Event] = []
    with ExpositionClient(sandbox.metrics_url) as exposition:
        source = MetricsSource(events.append, kube=kube, exposition=exposition, exposition_window_s=30,
                               clock=sandbox.clock.now)
        assert set(source.available) == {"cpu_utilization", "memory_utilization", "restarts", "request_rate",
                                         "error_rate", "latency_p99"}
        source.poll_once()
        assert not of(events, "error_rate")  # one scrape: no rates yet
        step_until(source.poll_once, events, lambda evs: of(evs, "error_rate", "checkout"))
        healthy = of(events, "error_rate", "checkout")[-1]
        assert healthy.values["value"] < 0.02 and healthy.target == CHECKOUT
        rate = of(events, "request_rate", "checkout")[-1].values["value"]
        assert 6 < rate < 24  # 2 pods x 6 rps in sandbox time, whatever the speed
        assert 0 < of(events, "latency_p99", "checkout")[-1].values["value"] < 2.5
        sandbox.inject("error-spike", "shop", "checkout")
        step_until(source.poll_once, events,
                   lambda evs: of(evs, "error_rate", "checkout")[-1].values["value"] > 0.2, timeout=30)
        assert of(events, "error_rate", "cart")[-1].values["value"] < 0.02
