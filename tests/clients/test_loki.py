"""LokiClient against a local server implementing Loki's documented query API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tagent.clients.loki import LokiClient, count_over_time_query, logql_string
from tagent.errors import PermanentError, TransientError
from tests.clients import promstack
from tests.clients.lokiserver import LokiStore, loki_server


@pytest.fixture
def store() -> LokiStore:
    s = LokiStore()
    now = time.time()
    cart = {"namespace": "shop", "pod": "cart-6d9f7c8b4-x2x4z", "app": "cart"}
    pay = {"namespace": "shop", "pod": "payment-5c7d-abcde", "app": "payment"}
    for i in range(12):
        s.push(cart, f'10.0.0.1 - "GET /cart" 500 {i}', at=now - 30 + i)
    for i in range(3):
        s.push(cart, f'10.0.0.1 - "GET /cart" 200 {i}', at=now - 20 + i)
    s.push(pay, 'ERROR timeout calling `bank`', at=now - 5)
    s.push(cart, 'old " 500 line', at=now - 600)
    return s


@pytest.fixture
def loki(store: LokiStore) -> Iterator[str]:
    with loki_server(store) as url:
        yield url


def test_count_over_time_groups_by_pod(loki: str, store: LokiStore) -> None:
    with LokiClient(loki) as client:
        samples = client.count_over_time('{namespace="shop"}', '" 500 ', 60)
    assert [(s.labels, s.value) for s in samples] == [({"namespace": "shop", "pod": "cart-6d9f7c8b4-x2x4z"}, 12.0)]
    path, params = store.requests[-1]
    assert path == "/loki/api/v1/query"
    assert params["query"] == 'sum by (namespace, pod) (count_over_time({namespace="shop"} |~ `" 500 ` [60s]))'


def test_window_excludes_old_lines(loki: str) -> None:
    with LokiClient(loki) as client:
        short = client.count_over_time('{namespace="shop"}', '" 500 ', 60, by=("app",))
        long = client.count_over_time('{namespace="shop"}', '" 500 ', 3600, by=("app",))
    assert [s.value for s in short] == [12.0]
    assert [s.value for s in long] == [13.0]


def test_pattern_with_backtick_is_escaped(loki: str) -> None:
    pattern = "timeout calling `bank`"
    assert logql_string(pattern) == '"timeout calling `bank`"'
    with LokiClient(loki) as client:
        (sample,) = client.count_over_time('{app=~"pay.*"}', pattern, 60, by=("pod",))
    assert sample.labels == {"pod": "payment-5c7d-abcde"} and sample.value == 1.0


def test_query_range_streams_and_matrix(loki: str) -> None:
    now = time.time()
    with LokiClient(loki) as client:
        logs = client.query_range('{app="cart"} |= "200"', now - 120, now, limit=2, direction="forward")
        assert logs.result_type == "streams"
        assert [line.line for line in logs.lines] == ['10.0.0.1 - "GET /cart" 200 0', '10.0.0.1 - "GET /cart" 200 1']
        assert logs.lines[0].labels["pod"] == "cart-6d9f7c8b4-x2x4z"
        assert logs.lines[0].timestamp_ns < logs.lines[1].timestamp_ns
        matrix = client.query_range(count_over_time_query('{app="cart"}', "500", 10, ()), now - 40, now, step=10)
    assert matrix.result_type == "matrix"
    (series,) = matrix.series
    assert sum(v for _, v in series.points) == 12.0
    assert series.points == sorted(series.points)


def test_bad_logql_is_permanent_with_the_server_message(loki: str) -> None:
    with LokiClient(loki) as client, pytest.raises(PermanentError, match="HTTP 400: parse error"):
        client.query('{namespace="shop"} |= ')
    with pytest.raises(PermanentError, match="invalid label"):
        count_over_time_query('{a="b"}', "x", 60, ("bad-label",))


def test_tenant_header_is_sent(store: LokiStore) -> None:
    with loki_server(store, tenant="team-a") as url:
        with LokiClient(url) as anonymous, pytest.raises(PermanentError, match="401"):
            anonymous.query('{app="cart"}')
        with LokiClient(url, tenant="team-a") as client:
            assert client.query('{app="cart"}').lines


def test_unreachable_is_transient() -> None:
    with LokiClient(f"http://127.0.0.1:{promstack.free_port()}", timeout=1) as client, pytest.raises(TransientError):
        client.count_over_time('{a="b"}', "x", 60)
