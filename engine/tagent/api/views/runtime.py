"""What a runtime has beyond CPU and memory, read from Prometheus when the data exists: JVM heap and GC time,
Node.js event-loop lag, Go goroutines and GC time, Python GC collections.

Each panel names the metric it needs and how a service exposes it; without Prometheus, or when Prometheus has
no series of the workload's pods, the panel comes back empty with `missing` saying exactly that, so the
dashboard never shows a blank chart without a reason. The queries accept the names both common exporters use
(the Prometheus client libraries, and the OpenTelemetry SDKs through their Prometheus exporter).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tagent.clients.prometheus import PrometheusClient
from tagent.errors import ExternalError
from tagent.model import WorkloadRef

MAX_POINTS = 120
SEL = "__SEL__"  # replaced by the workload's namespace and pod matchers


@dataclass(frozen=True)
class RuntimePanel:
    key: str
    title: str
    unit: str  # the dashboard's units: bytes | percent | seconds | count | per_second
    queries: tuple[str, ...]  # tried in order: the first with data wins
    metric: str  # what to expose, as the message names it
    how: str  # how a service of this runtime exposes it
    short: str  # "no <short> metric: ..."


PANELS: dict[str, tuple[RuntimePanel, ...]] = {
    "java": (
        RuntimePanel("jvm_heap", "JVM heap used", "bytes",
                     (f'sum(jvm_memory_used_bytes{{area="heap",{SEL}}})',
                      f'sum(jvm_memory_used_bytes{{jvm_memory_type="heap",{SEL}}})'),
                     'jvm_memory_used_bytes{area="heap"}', "the OpenTelemetry Java agent (Prometheus exporter) "
                     "or Micrometer's Prometheus registry", "JVM heap"),
        RuntimePanel("jvm_gc", "JVM time in GC", "percent",
                     (f"sum(rate(jvm_gc_collection_seconds_sum{{{SEL}}}[5m]))",
                      f"sum(rate(jvm_gc_duration_seconds_sum{{{SEL}}}[5m]))"),
                     "jvm_gc_collection_seconds", "the OpenTelemetry Java agent or the Prometheus JMX exporter",
                     "JVM GC"),
    ),
    "nodejs": (
        RuntimePanel("event_loop_lag", "Node.js event-loop lag", "seconds",
                     (f"max(nodejs_eventloop_lag_seconds{{{SEL}}})",
                      f"max(nodejs_eventloop_lag_p99_seconds{{{SEL}}})"),
                     "nodejs_eventloop_lag_seconds", "prom-client's collectDefaultMetrics()", "Node.js event-loop lag"),
    ),
    "go": (
        RuntimePanel("goroutines", "Go goroutines", "count", (f"sum(go_goroutines{{{SEL}}})",),
                     "go_goroutines", "client_golang's default registry (promhttp.Handler())", "Go goroutine"),
        RuntimePanel("go_gc", "Go time in GC pauses", "percent",
                     (f"sum(rate(go_gc_duration_seconds_sum{{{SEL}}}[5m]))",),
                     "go_gc_duration_seconds", "client_golang's default registry (promhttp.Handler())", "Go GC"),
    ),
    "python": (
        RuntimePanel("python_gc", "Python GC collections", "per_second",
                     (f"sum(rate(python_gc_collections_total{{{SEL}}}[5m]))",),
                     "python_gc_collections_total", "prometheus_client's default registry (start_http_server)",
                     "Python GC"),
    ),
}


def selector(ref: WorkloadRef) -> str:
    """The namespace and the pods a controller names after `ref` (names are DNS labels: nothing to escape)."""
    pods = rf"{ref.name}-[0-9]+" if ref.kind == "StatefulSet" else rf"{ref.name}-[a-z0-9]+-[a-z0-9]+"
    return f'namespace="{ref.namespace}",pod=~"{pods}"'


def _missing(panel: RuntimePanel, why: str) -> str:
    return f"no {panel.short} metric: {why}; expose {panel.metric} via {panel.how}"


def runtime_panels(prometheus: PrometheusClient | None, ref: WorkloadRef, runtime: str, *, now: datetime,
                   minutes: int) -> dict[str, Any]:
    """The panels of `runtime` with their series until `now`, or what is missing; none for a runtime without
    extras."""
    panels = PANELS.get(runtime, ())
    out: list[dict[str, Any]] = []
    end = now
    start = end - timedelta(minutes=minutes)
    step = max(15.0, minutes * 60 / MAX_POINTS)
    for panel in panels:
        row: dict[str, Any] = {"key": panel.key, "title": panel.title, "unit": panel.unit, "metric": panel.metric,
                               "series": [], "missing": None}
        if prometheus is None:
            row["missing"] = _missing(panel, "the engine reads no Prometheus (start it with --prometheus URL)")
            out.append(row)
            continue
        try:
            for query in panel.queries:
                found = prometheus.query_range(query.replace(SEL, selector(ref)), start, end, step)
                points = [[ts, value] for series in found for ts, value in series.points]
                if points:
                    row["series"] = sorted(points)[-MAX_POINTS:]
                    break
            else:
                row["missing"] = _missing(panel, f"Prometheus has no series of {ref.namespace}/{ref.name}'s pods")
        except ExternalError as exc:
            row["missing"] = _missing(panel, f"Prometheus did not answer ({exc})")
        out.append(row)
    return {"runtime": runtime, "source": "prometheus" if prometheus is not None else None, "panels": out}
