"""Auto-generated service dashboards: which charts a workload gets is chosen by its runtime.

Application runtimes (Node.js, Python, Java, Go, unknown) get the RED set plus resources: CPU, memory,
request rate, error rate, p99 latency. Databases and caches get their own set: memory first (a cache or a
database is memory-bound), CPU, restarts. Each panel names the metric of RULES.md the API serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import plotly.graph_objects as go


@dataclass(frozen=True)
class Panel:
    metric: str
    title: str
    unit: str  # percent | per_second | seconds | count | bytes
    needs_prometheus: bool = False


CPU = Panel("cpu_utilization", "CPU (share of request)", "percent")
MEMORY = Panel("memory_utilization", "Memory (share of request)", "percent")
RESTARTS = Panel("restarts", "Container restarts", "count")
REQUESTS = Panel("request_rate", "Request rate", "per_second", needs_prometheus=True)
ERRORS = Panel("error_rate", "Error rate (5xx share)", "percent", needs_prometheus=True)
LATENCY = Panel("latency_p99", "p99 latency", "seconds", needs_prometheus=True)

APP = (CPU, MEMORY, REQUESTS, ERRORS, LATENCY)
PANELS: dict[str, tuple[Panel, ...]] = {
    "nodejs": APP, "python": APP, "java": APP, "go": APP, "unknown": APP,
    "database": (MEMORY, CPU, RESTARTS),
    "cache": (MEMORY, CPU, RESTARTS),
}
RUNTIME_LABEL = {"nodejs": "Node.js", "python": "Python", "java": "Java", "go": "Go", "database": "Database",
                 "cache": "Cache", "unknown": "Unknown runtime"}
# OpenTelemetry resource values (telemetry.sdk.language, process.runtime.name) -> the inventory's runtimes
OTEL_RUNTIMES = {"java": "java", "openjdk runtime environment": "java", "nodejs": "nodejs", "node.js": "nodejs",
                 "node": "nodejs", "python": "python", "cpython": "python", "pypy": "python", "go": "go", "gc": "go"}


def runtime_from_resource(attributes: dict[str, Any] | None) -> tuple[str, str] | None:
    """(runtime, the attribute that told) from a service's OpenTelemetry resource; None when it tells none
    we know (then the inventory's inference stands)."""
    for key in ("telemetry.sdk.language", "process.runtime.name"):
        value = str((attributes or {}).get(key) or "").strip().lower()
        if value in OTEL_RUNTIMES:
            return OTEL_RUNTIMES[value], f"{key}={value}"
    return None


def panels_for(runtime: str) -> tuple[Panel, ...]:
    return PANELS.get(runtime, APP)


def _scaled(panel: Panel, value: float) -> float:
    return value * 100 if panel.unit == "percent" else value / 2**20 if panel.unit == "bytes" else value


def _local(at: datetime, tz: tzinfo) -> datetime:
    """The wall-clock time in `tz` (Plotly draws a datetime's own fields and drops its offset)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz).replace(tzinfo=None)


def _zone_title(tz: tzinfo) -> str:
    return f"time ({datetime.now(UTC).astimezone(tz).tzname() or 'UTC'})"


def series_figure(panel: Panel, points: list[list[float]], tz: tzinfo = UTC) -> go.Figure:
    """A compact line chart of [unix_ts, value] points, in the panel's unit, on the clock of `tz`."""
    x = [_local(datetime.fromtimestamp(ts, UTC), tz) for ts, _ in points]
    y = [_scaled(panel, v) for _, v in points]
    suffix = {"percent": " %", "per_second": " /s", "seconds": " s", "count": "", "bytes": " MiB"}[panel.unit]
    fig = go.Figure(go.Scatter(x=x, y=y, mode="lines+markers", line={"width": 2}, marker={"size": 4},
                               hovertemplate=f"%{{y:.3g}}{suffix}<extra></extra>"))
    fig.update_layout(title={"text": panel.title, "font": {"size": 14}}, height=230,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, yaxis={"ticksuffix": suffix, "rangemode": "tozero"},
                      xaxis={"title": {"text": _zone_title(tz), "font": {"size": 11}}}, showlegend=False)
    return fig


def health_figure(healthy: int, unhealthy: int, title: str) -> go.Figure:
    fig = go.Figure(go.Pie(labels=["healthy", "unhealthy"], values=[healthy, unhealthy], hole=0.6, sort=False,
                           marker={"colors": ["#2e7d32", "#c62828"]}, textinfo="value"))
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=220,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=True)
    return fig


KIND_ORDER = ["event", "decision", "guard", "notification", "call", "ack", "approval", "step", "status", "note"]


def _parsed(value: Any, tz: tzinfo) -> Any:
    try:
        return _local(datetime.fromisoformat(str(value).replace("Z", "+00:00")), tz)
    except ValueError:
        return value


def timeline_figure(entries: list[dict[str, Any]], tz: tzinfo = UTC) -> go.Figure:
    """One marker per timeline entry, on a lane per kind, hover shows the summary; times on the clock of `tz`."""
    kinds = [e.get("kind", "note") for e in entries]
    lanes = [k for k in KIND_ORDER if k in kinds] + sorted({k for k in kinds if k not in KIND_ORDER})
    fig = go.Figure(go.Scatter(
        x=[_parsed(e.get("at"), tz) for e in entries], y=kinds, mode="markers", marker={"size": 12},
        text=[e.get("summary", "") for e in entries], hovertemplate="%{x}<br>%{text}<extra></extra>"))
    fig.update_layout(height=60 + 40 * max(1, len(lanes)), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis={"categoryorder": "array", "categoryarray": lanes[::-1]},
                      xaxis={"title": {"text": _zone_title(tz), "font": {"size": 11}}})
    return fig
