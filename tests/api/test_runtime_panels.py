"""Runtime panels (api/views/runtime.py): what a runtime has beyond CPU and memory, read from a real Prometheus
scraping a real exposition, or, where the data does not exist, what is missing and how to expose it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Gauge

from tagent.api.views.runtime import runtime_panels
from tagent.clients.prometheus import PrometheusClient
from tagent.model import WorkloadRef
from tests.clients import promstack

pytestmark = [promstack.needs_prometheus, pytest.mark.xdist_group("prometheus")]

CART = WorkloadRef(namespace="shop", name="cart")
PAYMENT = WorkloadRef(namespace="shop", name="payment-service")


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    """Go and JVM runtime metrics as the pods' exporters name them, with the pod labels Kubernetes discovery
    adds; a pod of another workload (cart-api) whose name starts like cart's must not count."""
    registry = CollectorRegistry()
    goroutines = Gauge("go_goroutines", "Goroutines.", ["namespace", "pod"], registry=registry)
    goroutines.labels("shop", "cart-7d9f8b6c4-abcde").set(40)
    goroutines.labels("shop", "cart-7d9f8b6c4-fghij").set(2)
    goroutines.labels("shop", "cart-api-5c6d7e8f9-klmno").set(1000)
    heap = Gauge("jvm_memory_used_bytes", "JVM memory (OpenTelemetry's names).",
                 ["namespace", "pod", "jvm_memory_type"], registry=registry)
    heap.labels("shop", "payment-service-6b5a4c3d2-pqrst", "heap").set(300 * 2**20)
    heap.labels("shop", "payment-service-6b5a4c3d2-pqrst", "non_heap").set(90 * 2**20)
    with promstack.exposition(registry) as target, \
            promstack.prometheus(tmp_path_factory.mktemp("prom"), [target], interval="500ms") as url, \
            PrometheusClient(url) as client:
        promstack.wait_for(lambda: len(client.query("go_goroutines")) == 3, timeout=30)
        yield client


def _panels(found: dict[str, object]) -> dict[str, dict[str, object]]:
    return {p["key"]: p for p in found["panels"]}


def test_go_goroutines_of_the_workloads_pods_and_what_is_missing(prom: PrometheusClient) -> None:
    panels = _panels(runtime_panels(prom, CART, "go", now=datetime.now(UTC), minutes=5))
    goroutines = panels["goroutines"]
    assert goroutines["missing"] is None and goroutines["unit"] == "count"
    values = {v for _, v in goroutines["series"]}
    assert values == {42.0}  # both cart pods, never cart-api's 1000
    gc = panels["go_gc"]
    assert gc["series"] == [] and gc["missing"] == (
        "no Go GC metric: Prometheus has no series of shop/cart's pods; expose go_gc_duration_seconds via "
        "client_golang's default registry (promhttp.Handler())")


def test_jvm_heap_under_the_opentelemetry_name(prom: PrometheusClient) -> None:
    panels = _panels(runtime_panels(prom, PAYMENT, "java", now=datetime.now(UTC), minutes=5))
    heap = panels["jvm_heap"]
    assert heap["missing"] is None and heap["unit"] == "bytes"
    assert {v for _, v in heap["series"]} == {300.0 * 2**20}  # heap only
    assert "expose jvm_gc_collection_seconds via the OpenTelemetry Java agent" in str(panels["jvm_gc"]["missing"])


def test_without_prometheus_every_panel_says_so() -> None:
    found = runtime_panels(None, WorkloadRef(namespace="shop", name="checkout"), "python", now=datetime.now(UTC),
                           minutes=5)
    assert found["source"] is None
    (gc,) = found["panels"]
    assert gc["missing"].startswith("no Python GC metric: the engine reads no Prometheus (start it with "
                                    "--prometheus URL); expose python_gc_collections_total")
    assert runtime_panels(None, CART, "database", now=datetime.now(UTC), minutes=5)["panels"] == []
