"""Tempo and Jaeger as trace backends: Traces.from_settings with their URL reads them through their HTTP query
APIs (local stand-ins implementing the documented shapes), and answers as from the embedded store."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tagent.errors import TransientError
from tagent.settings import Settings
from tagent.store import Store
from tagent.traces.service import Traces
from tests.serving import serve
from tests.traces.standins import JaegerStandIn, Recorder, Sp, TempoStandIn

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NOW_NS = int(NOW.timestamp()) * 10**9


def _shop(rnd: random.Random, n: int = 40) -> list[Sp]:
    """`n` requests to frontend, each calling cart (a SERVER span) which queries postgres (CLIENT); every
    seventh cart call fails (500); the first trace id starts with a zero byte."""
    spans = []
    for i in range(n):
        trace_id = ("00" if i == 0 else "") + rnd.randbytes(16 if i else 15).hex()
        start = NOW_NS - rnd.randint(10, 500) * 10**9
        front, cart, db = (rnd.randbytes(8).hex() for _ in range(3))
        cart_ns = rnd.randint(2, 300) * 10**6
        failed = i % 7 == 3
        spans += [Sp(trace_id, front, "", "frontend", "shop", "GET /", 2, start, cart_ns + 5 * 10**6),
                  Sp(trace_id, cart, front, "cart", "shop", "POST /cart", 2, start + 10**6, cart_ns, error=failed,
                     http_status=500 if failed else 200),
                  Sp(trace_id, db, cart, "cart", "shop", "SELECT", 3, start + 2 * 10**6, cart_ns // 2)]
    return spans


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'tagent.db'}") as s:
        yield s


def _backend(handler: type[Recorder], spans: list[Sp]) -> None:
    handler.spans, handler.seen, handler.fail = spans, [], False


@pytest.mark.parametrize(("handler", "setting"), [(TempoStandIn, "traces_tempo_url"),
                                                  (JaegerStandIn, "traces_jaeger_url")])
def test_red_and_traces_come_from_the_configured_backend(handler: type[Recorder], setting: str, store: Store,
                                                         rnd: random.Random, tmp_path: Path) -> None:
    spans = _shop(rnd)
    _backend(handler, spans)
    with serve(handler) as url:
        traces = Traces.from_settings(Settings(data_dir=tmp_path, **{setting: url}), store, clock=lambda: NOW)
        source = "tempo" if handler is TempoStandIn else "jaeger"
        cart = [s for s in spans if s.service == "cart" and s.kind == 2]
        red = traces.red("shop/cart", 900)
        assert (red["source"], red["requests"]) == (source, len(cart))
        assert abs(red["error_ratio"] - sum(s.error for s in cart) / len(cart)) < 1e-9
        assert red["p50_ms"] == statistics.median(s.duration_ns / 1e6 for s in cart)

        failing = traces.traces(service="shop/cart", since=NOW - timedelta(hours=1), until=NOW, errors=True)
        assert {t["trace_id"] for t in failing} == {s.trace_id for s in cart if s.error}
        assert all(t["root_service"] == "shop/frontend" and "shop/cart" in t["services"] for t in failing)
        slow = traces.traces(service="shop/frontend", since=NOW - timedelta(hours=1), until=NOW,
                             min_duration_ms=200, order="slowest", limit=50)
        assert slow and all(t["duration_ms"] >= 200 for t in slow)
        assert [t["duration_ms"] for t in slow] == sorted((t["duration_ms"] for t in slow), reverse=True)

        first = spans[0].trace_id
        assert first.startswith("00") and len(first) == 32
        one = traces.trace(first)
        assert one is not None and {s["span_id"] for s in one["spans"]} == {s.span_id for s in spans[:3]}
        by_name = {s["name"]: s for s in one["spans"]}
        assert by_name["POST /cart"]["parent_span_id"] == spans[0].span_id
        assert by_name["POST /cart"]["service"] == "shop/cart" and by_name["SELECT"]["kind"] == "client"
        if source == "jaeger":
            assert by_name["GET /"]["attributes"]["api.token"] == "[REDACTED]"
        assert traces.trace("f" * 32) is None
    searched = [s for s in handler.seen if s["path"] in ("/api/search", "/api/traces")]
    assert searched and all(int(s["limit"]) >= 1 for s in searched)
    if source == "tempo":
        assert any('resource.service.name="cart"' in s["q"] and "status=error" in s["q"] for s in searched)
        assert all(s["start"].isdigit() and s["end"].isdigit() for s in searched)
    else:
        assert {s["service"] for s in searched} == {"cart", "frontend"}
        assert any(s.get("minDuration") == "200ms" for s in searched)


@pytest.mark.parametrize(("handler", "setting"), [(TempoStandIn, "traces_tempo_url"),
                                                  (JaegerStandIn, "traces_jaeger_url")])
def test_a_failing_backend_is_a_transient_error(handler: type[Recorder], setting: str, store: Store,
                                                tmp_path: Path) -> None:
    _backend(handler, [])
    handler.fail = True
    with serve(handler) as url:
        traces = Traces.from_settings(Settings(data_dir=tmp_path, **{setting: url}), store, clock=lambda: NOW)
        with pytest.raises(TransientError, match="answered HTTP 500"):
            traces.red("shop/cart", 900)
        with pytest.raises(TransientError):
            traces.trace("a" * 32)
    handler.fail = False


def test_jaeger_needs_a_service_to_list_traces(store: Store, tmp_path: Path) -> None:
    _backend(JaegerStandIn, [])
    with serve(JaegerStandIn) as url:
        traces = Traces.from_settings(Settings(data_dir=tmp_path, traces_jaeger_url=url), store, clock=lambda: NOW)
        with pytest.raises(ValueError, match="give service=namespace/name"):
            traces.traces()
