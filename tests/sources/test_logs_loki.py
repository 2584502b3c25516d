"""Log patterns through Loki: count_over_time per workload, against a local Loki-API server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tagent.clients.loki import LokiClient
from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.model.policy import condition_key
from tagent.sources.base import SourceQuery
from tagent.sources.logs import LogSource
from tests.clients.lokiserver import LokiStore, loki_server

CART = WorkloadRef(kind="Deployment", namespace="shop", name="cart")
PAY = WorkloadRef(kind="Deployment", namespace="shop", name="payment")


@pytest.fixture
def store() -> LokiStore:
    return LokiStore()


@pytest.fixture
def loki(store: LokiStore) -> Iterator[LokiClient]:
    with loki_server(store) as url, LokiClient(url) as client:
        yield client


def test_counts_per_workload_then_one_zero(loki: LokiClient, store: LokiStore) -> None:
    now = time.time()
    for i in range(12):
        store.push({"namespace": "shop", "pod": f"cart-6d9f7c8b4-x2x4{i % 2}", "app": "cart"},
                   f'"GET /cart HTTP/1.1" 500 12 "-" "curl" {i}ms', at=now - 10)
    store.push({"namespace": "shop", "pod": "payment-5c7d9f8b6-abcde"}, '"POST /pay HTTP/1.1" 500 1', at=now - 5)
    store.push({"namespace": "shop", "pod": "payment-5c7d9f8b6-abcde"}, '"POST /pay HTTP/1.1" 200 1', at=now - 5)
    key = condition_key("http-500", 0)
    events: list[Event] = []
    source = LogSource([SourceQuery(key, '" 500 ', 60)], events.append, loki=loki)
    source.poll_once()
    counts = {e.target: e.values["count"] for e in events}
    assert counts == {CART: 12.0, PAY: 1.0}
    for e in events:
        assert e.source == EventSource.logs and e.kind == "LogPattern" and e.reason == key
        assert e.values["window_s"] == 60.0 and e.labels["namespace"] == "shop"

    events.clear()
    store.entries.clear()
    source.poll_once()
    assert {e.target: e.values["count"] for e in events} == {CART: 0.0, PAY: 0.0}
    events.clear()
    source.poll_once()
    assert events == []  # zero is said once


def test_loki_down_and_bad_patterns_are_counted(store: LokiStore) -> None:
    with loki_server(store) as url:
        pass  # the server is gone now
    events: list[Event] = []
    with LokiClient(url, timeout=1) as client:
        source = LogSource([SourceQuery("a#0", "x", 60), SourceQuery("b#0", "(unclosed", 60)], events.append,
                           loki=client)
        assert source.stats["bad_patterns"] == 1
        source.poll_once()
        assert source.stats["loki_errors"] == 1 and events == []
