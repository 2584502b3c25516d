"""RED from a real Prometheus scraping the conventional HTTP metrics: it is asked first, and the spans answer
for a service it has no request metrics of."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from tagent.clients.prometheus import PrometheusClient
from tagent.store import Store
from tagent.store.repos.traces import Spans
from tagent.traces.service import Traces
from tagent.traces.writer import SpanWriter
from tests.clients import promstack

pytestmark = [promstack.needs_prometheus, pytest.mark.xdist_group("prometheus")]
LATENCY_S = 0.04  # every request: in the (0.025, 0.05] bucket of the default buckets
TICK_S, OK_PER_TICK, FAILED_PER_TICK = 0.05, 9, 1
WINDOW_S = 10


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[tuple[float, int]]]]:
    """Prometheus scraping an exposition that serves `cart` 200 requests/s (10 % failing) while the test runs,
    once it holds more than WINDOW_S of them; with the (time, requests so far) history of cart."""
    registry = CollectorRegistry()
    requests = Counter("http_requests", "requests", ["namespace", "pod", "code"], registry=registry)
    latency = Histogram("http_request_duration_seconds", "latency", ["namespace", "pod"], registry=registry)
    stop = threading.Event()
    history: list[tuple[float, int]] = []

    def traffic() -> None:
        while not stop.wait(TICK_S):
            history.append((time.monotonic(), len(history) * (OK_PER_TICK + FAILED_PER_TICK)))
            for pod in ("cart-6d9f7c8b4-x2x4z", "cart-admin-5c7d8f9b6-q8w7e"):  # cart-admin is not cart
                requests.labels("shop", pod, "200").inc(OK_PER_TICK)
                requests.labels("shop", pod, "500").inc(FAILED_PER_TICK)
                for _ in range(OK_PER_TICK + FAILED_PER_TICK):
                    latency.labels("shop", pod).observe(LATENCY_S if pod.startswith("cart-6") else 2.0)

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    workdir = tmp_path_factory.mktemp("prom-red")
    try:
        with promstack.exposition(registry) as target, promstack.prometheus(workdir, [target]) as url:
            client = PrometheusClient(url)
            held = f'count_over_time(http_requests_total{{pod=~"cart-6.*", code="200"}}[1m]) > {WINDOW_S + 2}'
            promstack.wait_for(lambda: client.query(held), timeout=60)
            client.close()
            yield url, history
    finally:
        stop.set()
        thread.join(5)


def test_red_comes_from_prometheus_when_it_has_the_service(
        prometheus_url: tuple[str, list[tuple[float, int]]], tmp_path: Path) -> None:
    url, history = prometheus_url
    with Store.open(f"sqlite:///{tmp_path / 'tagent.db'}") as store, PrometheusClient(url) as client:
        spans = Spans(store.db)
        traces = Traces(spans, SpanWriter(spans), prometheus=client)
        red = traces.red("shop/cart", WINDOW_S)
        now = time.monotonic()
        then = next((t, n) for t, n in history if t >= now - WINDOW_S - 1)  # the window, as Prometheus saw it
        served = (history[-1][1] - then[1]) / (history[-1][0] - then[0])
        assert red["source"] == "prometheus" and red["service"] == "shop/cart" and red["window_s"] == WINDOW_S
        assert abs(red["error_ratio"] - FAILED_PER_TICK / (OK_PER_TICK + FAILED_PER_TICK)) < 0.02
        assert 0.7 * served < red["rate_per_s"] < 1.3 * served, (red, served)
        low, high = 25.0, 50.0  # histogram_quantile interpolates inside the bucket holding every request
        for key, q in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
            assert abs(red[key] - (low + (high - low) * q)) < 0.01, key
        assert red["requests"] > 0
        assert traces.red("shop/quiet", WINDOW_S)["source"] == "spans"  # no request metrics: the spans answer
