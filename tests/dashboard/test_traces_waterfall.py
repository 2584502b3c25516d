"""The waterfall figure of one trace (tagent.ui.waterfall), from a trace as `GET /api/v1/traces/{id}` answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tagent.ui.waterfall import ERROR_RED, bars, ordered, waterfall_figure

T0 = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)


def _span(span_id: str, parent: str, service: str, start_ms: float, duration_ms: float,
          status: str = "ok") -> dict[str, Any]:
    start = T0 + timedelta(milliseconds=start_ms)
    return {"span_id": span_id, "parent_span_id": parent, "service": service, "name": f"op-{span_id}",
            "kind": "server", "start": start.isoformat().replace("+00:00", "Z"),
            "end": (start + timedelta(milliseconds=duration_ms)).isoformat(), "duration_ms": duration_ms,
            "status": status, "http_status": 500 if status == "error" else 200, "attributes": {}}


TRACE = {"trace_id": "ab" * 16, "spans": [  # shuffled on purpose: the figure orders them
    _span("d", "c", "shop/payment-service", 12, 20, "error"),
    _span("a", "", "shop/frontend", 0, 50),
    _span("c", "a", "shop/checkout", 8, 30, "error"),
    _span("b", "a", "shop/cart", 2, 4),
    _span("e", "zz", "shop/postgres", 15, 5),  # its parent was dropped: shown as a root, not lost
]}


def test_rows_are_depth_first_by_start_with_offsets_from_the_trace_start() -> None:
    rows = bars(TRACE)
    assert [r["span_id"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert [r["offset_ms"] for r in rows] == [0.0, 2.0, 8.0, 12.0, 15.0]
    assert [r["error"] for r in rows] == [False, False, True, True, False]
    assert rows[3]["label"] == "↳ shop/payment-service · op-d" and rows[0]["label"] == "shop/frontend · op-a"


def test_a_parent_cycle_loses_no_span() -> None:
    spans = [_span("x", "y", "s/a", 0, 1), _span("y", "x", "s/b", 1, 1)]
    assert sorted(s["span_id"] for _, s in ordered(spans)) == ["x", "y"]


def test_figure_has_one_bar_series_per_service_and_marks_errors() -> None:
    fig = waterfall_figure(TRACE, ZoneInfo("Asia/Kolkata"))
    by_service = {t.name: t for t in fig.data}
    assert sorted(by_service) == ["shop/cart", "shop/checkout", "shop/frontend", "shop/payment-service",
                                  "shop/postgres"]
    pay = by_service["shop/payment-service"]
    assert list(pay.base) == [12.0] and list(pay.x) == [20.0] and pay.orientation == "h"
    assert pay.marker.line.color[0] == ERROR_RED and pay.text[0].startswith("✖")
    assert not by_service["shop/cart"].text[0].startswith("✖")
    assert "15:30:00 IST" in fig.layout.title.text  # the trace's start on the team's clock
    assert fig.layout.yaxis.ticktext[0] == "shop/frontend · op-a"


def test_an_empty_trace_draws_an_empty_figure() -> None:
    fig = waterfall_figure({"trace_id": "0" * 32, "spans": []})
    assert len(fig.data) == 0
