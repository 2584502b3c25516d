"""The traces part of a service's page: RED numbers (rate, error ratio, p50/p95/p99, with their source), the
recent or slowest traces (errors first on demand) and the waterfall of the one picked, or the one named by
`?trace=<id>` (the incident page links there). Every time is the team's (common.when, run_zone)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from tagent.ui.client import ApiClient, ApiError
from tagent.ui.common import query_param, run_zone, when
from tagent.ui.waterfall import waterfall_figure

WINDOWS = ["5m", "15m", "1h", "6h"]
LIMIT = 20
UNAVAILABLE = (404, 405, 503)  # an engine without the trace API, or one that keeps no traces
SOURCE_TEXT = {"spans": "computed from the spans the engine received (OTLP)", "prometheus": "from Prometheus",
               "tempo": "from Tempo", "jaeger": "from Jaeger"}
NO_SPANS = ("No spans from this service yet. Point its OpenTelemetry SDK (or the collector) at the engine: "
            "`OTEL_EXPORTER_OTLP_ENDPOINT=<engine API>` (OTLP/HTTP, `POST /v1/traces`).")


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"


def red_section(api: ApiClient, namespace: str, name: str) -> dict[str, Any] | None:
    """The five RED numbers of the service over the chosen window; None when the engine has no trace API."""
    window = st.segmented_control("Window", WINDOWS, default="15m", key="red_window") or "15m"
    try:
        red = api.red(namespace, name, window=window)
    except ApiError as exc:
        if exc.status in UNAVAILABLE:
            st.info(f"Request rate and latency are not available from this engine: {exc.detail}")
            return None
        raise
    cols = st.columns(5)
    cols[0].metric("Request rate", f"{red['rate_per_s']:.2f} /s")
    cols[1].metric("Error ratio", f"{red['error_ratio'] * 100:.1f} %")
    cols[2].metric("p50 latency", _ms(red.get("p50_ms")))
    cols[3].metric("p95 latency", _ms(red.get("p95_ms")))
    cols[4].metric("p99 latency", _ms(red.get("p99_ms")))
    source = str(red.get("source") or "spans")
    st.caption(f"{red.get('requests', 0)} requests in the last {window}, {SOURCE_TEXT.get(source, source)}.")
    if not red.get("requests") and source == "spans":
        st.caption(NO_SPANS)
    return red


def trace_rows(traces: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{"start": when(t["start"]), "root": f"{t['root_service']} · {t['root_name']}",
                          "duration ms": round(float(t["duration_ms"]), 1), "error": bool(t["error"]),
                          "spans": t["span_count"], "services": ", ".join(t["services"]),
                          "trace id": t["trace_id"]} for t in traces])


def errors_then_rest(api: ApiClient, service: str | None, order: str, *, since: str | None = None,
                     until: str | None = None) -> list[dict[str, Any]]:
    """The traces with an error span first, then the others, each part in `order` (two queries: a list cut
    at LIMIT may hold no error at all)."""
    failing = api.traces(service, limit=LIMIT, order=order, errors=True, since=since, until=until)
    rest = [t for t in api.traces(service, limit=LIMIT, order=order, since=since, until=until) if not t["error"]]
    return (failing + rest)[:LIMIT]


def traces_section(api: ApiClient, service: str) -> None:
    """The list (recent or slowest, errors first on demand) and the waterfall of the trace picked in it."""
    st.markdown("**Traces**")
    left, right = st.columns([1, 1])
    order = left.radio("Order", ["recent", "slowest"], horizontal=True, key="trace_order",
                       format_func=lambda o: "Most recent" if o == "recent" else "Slowest")
    errors_first = right.toggle("Errors first", value=False, key="trace_errors_first")
    try:
        traces = errors_then_rest(api, service, order) if errors_first else api.traces(service, limit=LIMIT,
                                                                                        order=order)
    except ApiError as exc:
        if exc.status in UNAVAILABLE:
            st.info(f"Traces are not available from this engine: {exc.detail}")
            return
        raise
    if not traces:
        st.caption(f"No traces of {service} yet. " + NO_SPANS)
        return
    st.dataframe(trace_rows(traces), hide_index=True, key="trace_table")
    ids = [t["trace_id"] for t in traces]
    labels = {t["trace_id"]: f"{'✖ ' if t['error'] else ''}{when(t['start'])} · {t['root_service']} "
              f"{t['root_name']} · {float(t['duration_ms']):.1f} ms · {len(t['services'])} services" for t in traces}
    wanted = query_param("trace")  # an incident's link names one, which may be older than this list
    if wanted and wanted not in ids:
        ids.insert(0, wanted)
    trace_id = st.selectbox("Waterfall of trace", ids, index=ids.index(wanted) if wanted else 0,
                            format_func=lambda i: labels.get(i, i), key=f"trace_pick-{service}-{order}-{errors_first}")
    if trace_id:
        waterfall_section(api, trace_id)


def waterfall_section(api: ApiClient, trace_id: str) -> None:
    try:
        trace = api.trace(trace_id)
    except ApiError as exc:
        if exc.status == 404:
            st.warning(f"Trace {trace_id} is not in the span store (it may have aged out).")
            return
        raise
    spans = trace.get("spans") or []
    services = sorted({s["service"] for s in spans})
    errors = sum(1 for s in spans if s.get("status") == "error")
    st.caption(f"Waterfall of trace `{trace_id}`: {len(spans)} spans across {len(services)} services "
               f"({', '.join(services)})" + (f", {errors} with errors (✖)" if errors else ""))
    st.plotly_chart(waterfall_figure(trace, run_zone()), key="waterfall")
