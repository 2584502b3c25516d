"""Rule PromQL queries and the named metrics, from a real Prometheus scraping an exposition with known values."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tagent.clients.prometheus import PrometheusClient
from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.model.policy import condition_key
from tagent.sources.base import SourceQuery
from tagent.sources.metrics import MetricsSource, default_queries
from tagent.sources.prometheus import PrometheusQuerySource
from tests.clients import promstack

pytestmark = [promstack.needs_prometheus, pytest.mark.xdist_group("prometheus")]
PODS = ("cart-6d9f7c8b4-x2x4z", "cart-6d9f7c8b4-qq7rt")
CART = WorkloadRef(kind="Deployment", namespace="shop", name="cart")
CLOCK = datetime(2030, 1, 1, tzinfo=UTC)
QUERIES = default_queries("3s")  # the test cannot wait minutes for the production windows to fill


def _cluster_like(registry: CollectorRegistry, stop: threading.Event) -> threading.Thread:
    """cAdvisor, kube-state-metrics and app metrics for two cart pods: 0.5 of CPU requests, 0.5 of memory
    requests, 3 restarts each, 10 req/s of which 10 % are 5xx, all requests 0.2 s."""
    cpu = Counter("container_cpu_usage_seconds", "", ["namespace", "pod", "container"], registry=registry)
    requests = Gauge("kube_pod_container_resource_requests", "", ["namespace", "pod", "container", "resource"],
                     registry=registry)
    memory = Gauge("container_memory_working_set_bytes", "", ["namespace", "pod", "container"], registry=registry)
    restarts = Gauge("kube_pod_container_status_restarts_total", "", ["namespace", "pod", "container"],
                     registry=registry)
    http = Counter("http_requests", "", ["namespace", "pod", "code"], registry=registry)
    latency = Histogram("http_request_duration_seconds", "", ["namespace", "pod"], registry=registry,
                        buckets=(0.1, 0.25, 0.5, 1.0))
    for pod in PODS:
        requests.labels("shop", pod, "app", "cpu").set(1.0)
        requests.labels("shop", pod, "app", "memory").set(512 * 2**20)
        memory.labels("shop", pod, "app").set(256 * 2**20)
        restarts.labels("shop", pod, "app").set(3)

    def tick() -> None:
        while not stop.wait(0.1):
            for pod in PODS:
                cpu.labels("shop", pod, "app").inc(0.05)
                http.labels("shop", pod, "200").inc(0.45)
                http.labels("shop", pod, "500").inc(0.05)
                latency.labels("shop", pod).observe(0.2)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    registry = CollectorRegistry()
    stop = threading.Event()
    thread = _cluster_like(registry, stop)
    with promstack.exposition(registry) as target, \
            promstack.prometheus(tmp_path_factory.mktemp("prom"), [target], interval="500ms") as url, \
            PrometheusClient(url) as client:
        promstack.wait_for(lambda: len(client.query(QUERIES["error_rate"])) == 2, timeout=30)
        time.sleep(3)  # let the 3 s rate window fill
        yield client
    stop.set()
    thread.join()


def test_named_metrics_per_workload(prom: PrometheusClient) -> None:
    events: list[Event] = []
    source = MetricsSource(events.append, prometheus=prom, rate_window="3s", clock=lambda: CLOCK)
    assert source.poll_once() == 6
    by_name = {e.reason: e for e in events}
    assert set(by_name) == set(source.available)
    for e in events:
        assert e.source == EventSource.metrics and e.kind == "Metric" and e.target == CART
        assert e.observed_at == CLOCK and e.labels["namespace"] == "shop"
    value = {name: e.values["value"] for name, e in by_name.items()}
    assert value["cpu_utilization"] == pytest.approx(0.5, abs=0.15)
    assert value["memory_utilization"] == pytest.approx(0.5)
    assert value["restarts"] == 6.0  # summed over the two pods
    assert value["request_rate"] == pytest.approx(10.0, rel=0.3)
    assert value["error_rate"] == pytest.approx(0.1, abs=0.03)
    assert 0.1 < value["latency_p99"] <= 0.25


def test_query_override_and_bad_query_is_counted_not_raised(prom: PrometheusClient) -> None:
    events: list[Event] = []
    source = MetricsSource(events.append, prometheus=prom, queries={
        "restarts": 'max by (namespace, pod) (kube_pod_container_status_restarts_total) * 10',
        "error_rate": "sum(rate(http_requests_total[1m]",  # broken
    })
    source.poll_once()
    assert {e.reason: e.values["value"] for e in events}["restarts"] == 60.0
    assert "error_rate" not in {e.reason for e in events}
    assert source.stats["bad_queries"] == 1


def test_rule_queries_tag_each_series_with_the_condition_key(prom: PrometheusClient) -> None:
    events: list[Event] = []
    key = condition_key("cart-errors", 1)
    errors = 'sum by (namespace, pod) (rate(http_requests_total{code="500"}[3s]))'
    source = PrometheusQuerySource(prom, [SourceQuery(key, errors)], events.append, clock=lambda: CLOCK)
    assert source.poll_once() == 2
    assert {e.labels["pod"] for e in events} == set(PODS)
    for e in events:
        assert e.source == EventSource.prometheus and e.kind == "PromQuery" and e.reason == "cart-errors#1"
        assert e.target == CART
        assert e.values["value"] == pytest.approx(0.5, rel=0.3)

    events.clear()
    total = condition_key("total", 0)
    source.set_queries([SourceQuery(total, "sum(rate(http_requests_total[1m]))"),
                        SourceQuery("nan#0", "vector(0) / 0")])
    assert source.poll_once() == 1
    (event,) = events
    assert event.target == WorkloadRef(kind="Query", name="total#0")
    assert source.stats["non_finite_samples"] == 1


def test_resolver_maps_pods_to_their_owner(prom: PrometheusClient) -> None:
    events: list[Event] = []
    owner = WorkloadRef(kind="StatefulSet", namespace="shop", name="cart-store")
    source = PrometheusQuerySource(prom, [SourceQuery("r#0", "kube_pod_container_status_restarts_total")],
                                   events.append, resolve_pod=lambda ns, pod: owner if ns == "shop" else None)
    source.poll_once()
    assert [e.target for e in events] == [owner, owner]


def test_a_prometheus_that_times_out_is_counted_and_the_loop_survives(tmp_path: Path) -> None:
    """A server that accepts and never answers, then the loop in its thread keeps going."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        with PrometheusClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.2) as client:
            events: list[Event] = []
            source = PrometheusQuerySource(client, [SourceQuery("a#0", "up"), SourceQuery("b#0", "up")],
                                           events.append, interval=0.05)
            assert source.poll_once() == 0
            assert source.stats["prometheus_timeouts"] == 2
            source.start()
            promstack.wait_for(lambda: source.stats["prometheus_timeouts"] >= 4, timeout=10)
            assert source.running
            source.stop()
            assert not source.running
            metrics = MetricsSource(events.append, prometheus=client)
            metrics.poll_once()
            assert metrics.stats["prometheus_timeouts"] == 6 and events == []
    finally:
        listener.close()
