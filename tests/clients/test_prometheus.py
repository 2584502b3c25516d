"""PrometheusClient against a real Prometheus scraping a real exposition endpoint."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from tagent.clients.prometheus import PrometheusClient
from tagent.errors import PermanentError, TransientError
from tests.clients import promstack

pytestmark = [promstack.needs_prometheus, pytest.mark.xdist_group("prometheus")]


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Gauge]]:
    registry = CollectorRegistry()
    requests = Counter("http_requests", "requests", ["namespace", "deployment", "code"], registry=registry)
    requests.labels("shop", "cart", "200").inc(120)
    requests.labels("shop", "cart", "500").inc(7)
    temperature = Gauge("tagent_test_level", "a level", ["namespace", "pod"], registry=registry)
    temperature.labels("shop", "cart-6d9f7c8b4-x2x4z").set(0.75)
    workdir = tmp_path_factory.mktemp("prom")
    with promstack.exposition(registry) as target, promstack.prometheus(workdir, [target]) as url:
        client = PrometheusClient(url)
        promstack.wait_for(lambda: client.query("tagent_test_level"), timeout=20)
        client.close()
        yield url, temperature


def test_instant_vector_carries_labels_and_values(prom: tuple[str, Gauge]) -> None:
    url, _ = prom
    with PrometheusClient(url) as client:
        samples = client.query('sum by (namespace, deployment, code) (http_requests_total)')
    by_code = {s.labels["code"]: s for s in samples}
    assert by_code["200"].value == 120.0
    assert by_code["500"].value == 7.0
    assert by_code["500"].labels == {"namespace": "shop", "deployment": "cart", "code": "500"}
    assert by_code["500"].timestamp == pytest.approx(time.time(), abs=60)


def test_scalar_and_nan(prom: tuple[str, Gauge]) -> None:
    url, _ = prom
    with PrometheusClient(url) as client:
        (scalar,) = client.query("scalar(sum(http_requests_total))")
        assert scalar.value == 127.0 and scalar.labels == {}
        (nan,) = client.query("vector(0) / 0")
        assert math.isnan(nan.value)
        assert client.query('tagent_test_level{pod="nope"}') == []


def test_query_range_follows_changes(prom: tuple[str, Gauge]) -> None:
    url, gauge = prom
    gauge.labels("shop", "cart-6d9f7c8b4-x2x4z").set(0.25)
    with PrometheusClient(url) as client:
        promstack.wait_for(lambda: client.query("tagent_test_level")[0].value == 0.25, timeout=10)
        end = time.time()
        (series,) = client.query_range("tagent_test_level", start=end - 30, end=end, step=1)
    values = [v for _, v in series.points]
    assert series.labels["pod"] == "cart-6d9f7c8b4-x2x4z"
    assert 0.75 in values and values[-1] == 0.25
    assert [t for t, _ in series.points] == sorted(t for t, _ in series.points)


def test_bad_query_is_permanent(prom: tuple[str, Gauge]) -> None:
    url, _ = prom
    with PrometheusClient(url) as client, pytest.raises(PermanentError, match="bad_data"):
        client.query("sum(rate(http_requests_total[1m])")


def test_unreachable_is_transient(tmp_path: Path) -> None:
    with PrometheusClient(f"http://127.0.0.1:{promstack.free_port()}", timeout=1) as client:
        with pytest.raises(TransientError):
            client.query("up")
        assert client.ready() is False


def test_timeout_is_transient() -> None:
    """A server that accepts the connection and never answers: the client gives up after its timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        with PrometheusClient(f"http://127.0.0.1:{port}", timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(TransientError, match="timed out"):
                client.query("up")
            assert time.monotonic() - started < 5
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
