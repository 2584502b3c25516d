"""Metric series for one workload, from Prometheus when it is configured, else from what the engine saw.

With Prometheus the named metrics of RULES.md are read with `query_range` using the same PromQL the
metrics source uses (`sources.metrics.DEFAULT_QUERIES`), keeping the series of the workload's pods and
combining them per timestamp the same way (`AGGREGATE`). Zero-config, the series are the Metric events
the engine matched recently (cpu_utilization, memory_utilization, restarts from metrics.k8s.io): no extra
polling, and exactly the numbers the rules saw.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

from tagent.app.engine import Engine
from tagent.errors import ExternalError
from tagent.model import Event, WorkloadRef
from tagent.sources.metrics import AGGREGATE, DEFAULT_QUERIES

MAX_POINTS = 120


def _pod_pattern(ref: WorkloadRef) -> re.Pattern[str]:
    """Pods a controller names after `ref` (also ones already gone): Deployment `name-<rs>-<id>`,
    StatefulSet `name-<ordinal>`."""
    name = re.escape(ref.name)
    if ref.kind == "StatefulSet":
        return re.compile(rf"^{name}-\d+$")
    return re.compile(rf"^{name}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}$")


def _from_prometheus(engine: Engine, ref: WorkloadRef, pods: set[str], minutes: int) -> dict[str, list[list[float]]]:
    assert engine.prometheus is not None
    end = engine.clock()
    start = end - timedelta(minutes=minutes)
    step = max(15.0, minutes * 60 / MAX_POINTS)
    pattern = _pod_pattern(ref)
    out: dict[str, list[list[float]]] = {}
    for metric, promql in DEFAULT_QUERIES.items():
        by_time: dict[float, list[float]] = defaultdict(list)
        for series in engine.prometheus.query_range(promql, start, end, step):
            pod = series.labels.get("pod", "")
            if series.labels.get("namespace") != ref.namespace or not (pod in pods or pattern.match(pod)):
                continue
            for ts, value in series.points:
                by_time[ts].append(value)
        if by_time:
            out[metric] = [[ts, AGGREGATE[metric](values)] for ts, values in sorted(by_time.items())]
    return out


def _recent_metric_events(engine: Engine) -> list[Event]:
    recent = engine.state.recent
    for _ in range(3):  # the dispatcher thread may insert meanwhile; a copy is retried, never locked
        try:
            return [e for e in list(recent.values()) if e.kind == "Metric"]
        except RuntimeError:
            continue
    return []


def _from_engine(engine: Engine, ref: WorkloadRef, minutes: int) -> dict[str, list[list[float]]]:
    since = engine.clock() - timedelta(minutes=minutes)
    out: dict[str, list[list[float]]] = defaultdict(list)
    for e in sorted(_recent_metric_events(engine), key=lambda e: e.observed_at):
        if e.target == ref and e.observed_at >= since and "value" in e.values:
            out[e.reason].append([e.observed_at.timestamp(), e.values["value"]])
    return {k: v[-MAX_POINTS:] for k, v in out.items()}


def workload_series(engine: Engine, ref: WorkloadRef, pods: set[str], *, minutes: int,
                    problems: list[str]) -> dict[str, Any]:
    if engine.prometheus is not None:
        try:
            return {"source": "prometheus", "series": _from_prometheus(engine, ref, pods, minutes)}
        except ExternalError as exc:
            problems.append(f"prometheus: {exc}; showing the engine's own samples")
    return {"source": "engine", "series": _from_engine(engine, ref, minutes)}
