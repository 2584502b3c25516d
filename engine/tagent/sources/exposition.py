"""Traffic metrics (request_rate, error_rate, latency_p99, restarts) computed from successive scrapes of
one Prometheus text exposition, the way PromQL's `rate()` and `histogram_quantile()` would over the
window: for clusters (the sandbox) without a Prometheus server.

Counters are differenced against the newest scrape at least `window_s` old (or the oldest one kept), with
counter resets handled; a series new since then counts from zero. Time is the source's clock, so counters
that advance on a faster sandbox clock still give per-second rates in sandbox time.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from datetime import datetime

from tagent.clients.prometheus import Sample
from tagent.model.core import WorkloadRef
from tagent.sources.targets import PodResolver, target_from_labels

SeriesKey = tuple[str, frozenset[tuple[str, str]]]
Values = dict[tuple[str, WorkloadRef], float]


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus's histogram_quantile over cumulative bucket counts by upper bound (+Inf included)."""
    bounds = sorted(buckets)
    if not bounds or not math.isinf(bounds[-1]) or buckets[bounds[-1]] <= 0:
        return math.nan
    rank = q * buckets[bounds[-1]]
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return bounds[-2] if len(bounds) > 1 else math.nan
            if count == previous_count:
                return bound
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / (count - previous_count)
        previous_bound, previous_count = bound, count
    return math.nan


class ExpositionRates:
    def __init__(self, window_s: float = 60.0, resolve_pod: PodResolver | None = None) -> None:
        self.window_s = window_s
        self.resolve_pod = resolve_pod
        self._history: deque[tuple[datetime, dict[SeriesKey, Sample]]] = deque()

    def observe(self, samples: list[Sample], at: datetime) -> Values:
        snapshot = {(s.labels.get("__name__", ""), frozenset(s.labels.items())): s for s in samples}
        self._history.append((at, snapshot))
        while len(self._history) > 2 and (at - self._history[1][0]).total_seconds() >= self.window_s:
            self._history.popleft()
        base_at, base = self._history[0]
        dt = (at - base_at).total_seconds()
        out: Values = {}
        restarts: dict[WorkloadRef, float] = defaultdict(float)
        total: dict[WorkloadRef, float] = defaultdict(float)
        errors: dict[WorkloadRef, float] = defaultdict(float)
        buckets: dict[WorkloadRef, dict[float, float]] = defaultdict(lambda: defaultdict(float))
        for key, sample in snapshot.items():
            name = key[0]
            target = target_from_labels({k: v for k, v in sample.labels.items() if k != "__name__"},
                                        self.resolve_pod)
            if target is None:
                continue
            if name == "kube_pod_container_status_restarts_total":
                restarts[target] += sample.value
                continue
            if dt <= 0 or name not in ("http_requests_total", "http_request_duration_seconds_bucket"):
                continue
            before = base.get(key)
            delta = sample.value - before.value if before is not None and sample.value >= before.value \
                else sample.value  # new series, or a counter reset (the pod restarted)
            if name == "http_requests_total":
                total[target] += delta
                if sample.labels.get("code", "").startswith("5"):
                    errors[target] += delta
            else:
                buckets[target][float(sample.labels.get("le", "nan"))] += delta
        for target, value in restarts.items():
            out["restarts", target] = value
        for target, requests in total.items():
            out["request_rate", target] = requests / dt
            if requests > 0:
                out["error_rate", target] = errors[target] / requests
        for target, hist in buckets.items():
            p99 = histogram_quantile(0.99, hist)
            if math.isfinite(p99):
                out["latency_p99", target] = p99
        return out
