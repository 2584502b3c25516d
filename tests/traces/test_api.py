"""The traces API on the real engine (uvicorn): the shapes the dashboard codes against, bad parameters (400, one
line), unknown traces and services (404), and the API token."""

from __future__ import annotations

import random
import statistics
import time

import httpx
import pytest

from tests.traces.conftest import Served
from tests.traces.otlp import chain, request

RED_KEYS = {"service", "window_s", "rate_per_s", "error_ratio", "p50_ms", "p95_ms", "p99_ms", "requests", "source"}
TRACE_KEYS = {"trace_id", "root_service", "root_name", "start", "duration_ms", "error", "span_count", "services"}
SPAN_KEYS = {"span_id", "parent_span_id", "service", "name", "kind", "start", "end", "duration_ms", "status",
             "http_status", "attributes"}

pytestmark = pytest.mark.xdist_group("traces-engine")


def _get(served: Served, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{served.url}/api/v1{path}", params=params, headers=served.api_headers())  # type: ignore[arg-type]


def test_red_traces_and_trace_answer_the_documented_shapes(served: Served, rnd: random.Random) -> None:
    sent = [chain(["web/gateway", "web/orders", "web/stock"], rnd, total_ms=20.0 + 10 * i,
                  error_at=1 if i % 5 == 0 else None) for i in range(10)]
    now = time.time_ns()
    body = request([s for spans in sent for s in spans], at_ns=now - 5_000_000_000).SerializeToString()
    assert httpx.post(served.otlp, content=body, headers=served.webhook_headers()).status_code == 200
    assert served.engine.traces is not None and served.engine.traces.flush(20)

    red = _get(served, "/services/web/orders/red", window="5m").json()
    assert set(red) == RED_KEYS and red["service"] == "web/orders" and red["window_s"] == 300
    orders = sorted(spans[1].duration_ms for spans in sent)
    assert red["requests"] == 10 and abs(red["rate_per_s"] - 10 / 300) < 1e-9 and red["source"] == "spans"
    assert red["error_ratio"] == 0.2 and red["p50_ms"] == statistics.median(orders)

    listed = _get(served, "/traces", service="web/stock", limit=3, order="slowest").json()["traces"]
    assert len(listed) == 3 and all(set(t) == TRACE_KEYS for t in listed)
    assert [t["duration_ms"] for t in listed] == sorted((spans[0].duration_ms for spans in sent), reverse=True)[:3]
    assert listed[0]["start"].endswith("Z") and listed[0]["services"] == ["web/gateway", "web/orders", "web/stock"]
    errors = _get(served, "/traces", service="web/gateway", errors="true").json()["traces"]
    assert {t["trace_id"] for t in errors} == {spans[0].trace_id.hex() for i, spans in enumerate(sent) if i % 5 == 0}
    one = _get(served, f"/traces/{listed[0]['trace_id']}").json()
    assert len(one["spans"]) == 3 and all(set(s) == SPAN_KEYS for s in one["spans"])
    assert _get(served, f"/traces/{listed[0]['trace_id'].upper()}").status_code == 200
    resource = _get(served, "/services/web/stock/resource").json()
    assert set(resource) == {"service", "attributes", "last_seen"} and resource["attributes"]["service.name"] == "stock"


def test_bad_parameters_are_400_and_unknowns_404_in_one_line(served: Served) -> None:
    for path, params, code, words in [
        ("/services/web/orders/red", {"window": "soon"}, 400, "not a duration"),
        ("/services/web/orders/red", {"window": "1s"}, 400, "between"),
        ("/services/web/orders/red", {"window": "30d"}, 400, "between"),
        ("/traces", {"limit": "many"}, 400, "limit must be an integer"),
        ("/traces", {"limit": 0}, 400, "limit must be between"),
        ("/traces", {"limit": 100_000}, 400, "limit must be between"),
        ("/traces", {"min_duration_ms": "slow"}, 400, "a number"),
        ("/traces", {"errors": "maybe"}, 400, "errors must be true or false"),
        ("/traces", {"order": "random"}, 400, "order must be"),
        ("/traces", {"since": "yesterday"}, 400, "not an ISO 8601 time"),
        ("/traces", {"since": "2026-12-02T10:00:00"}, 400, "needs a time zone"),
        ("/traces", {"since": "2026-12-02T10:00:00Z", "until": "2026-12-02T09:00:00Z"}, 400, "before until"),
        ("/traces/not-a-trace-id", {}, 400, "not 32 hex"),
        ("/traces/" + "ab" * 16, {}, 404, "no trace"),
        ("/services/web/nobody/resource", {}, 404, "no spans were ever received"),
    ]:
        answer = _get(served, path, **params)
        assert answer.status_code == code, (path, params, answer.text)
        assert words in answer.json()["detail"] and "\n" not in answer.json()["detail"]
    anonymous = httpx.get(f"{served.url}/api/v1/traces")
    assert anonymous.status_code == 401
    webhook_token_only = httpx.get(f"{served.url}/api/v1/traces",
                                   headers={"Authorization": served.webhook_headers()["Authorization"]})
    assert webhook_token_only.status_code == 401  # the receiver's token does not read traces
