"""The named workload metrics of RULES.md → Metric events, one per workload and metric per round.

Two backends:
- Prometheus (when a URL is configured): every named metric, from `queries` (`default_queries`: cAdvisor,
  kube-state-metrics and the conventional `http_requests_total` / `http_request_duration_seconds`
  metrics, labelled by namespace and pod). Override any query to fit other names or labels.
- zero-config, metrics.k8s.io + the pod list: `cpu_utilization` and `memory_utilization` (usage over the
  pods' requests, or limits where no request is set, summed per workload) and `restarts`.
  `request_rate`, `error_rate` and `latency_p99` need Prometheus, or an exposition to scrape directly
  (`exposition`: an app's or the sandbox's `/metrics`, rates from successive scrapes): the Kubernetes API
  has no traffic data.
With both, a zero-config metric Prometheus returns nothing for (no cAdvisor or kube-state-metrics
scraped) comes from the Kubernetes API instead.

Series or pods of one workload are combined per metric (`AGGREGATE`): sums for counts and rates, the mean
for ratios, the max for latency. `for:` windows are detect's job.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from statistics import fmean

from tagent.clients.exposition import ExpositionClient
from tagent.clients.kubernetes import KubeClient, PodInfo, PodUsage
from tagent.clients.prometheus import PrometheusClient
from tagent.errors import ExternalError, PermanentError, TransientError
from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.model.policy import NAMED_METRICS
from tagent.sources.base import Clock, Emit, Source
from tagent.sources.exposition import ExpositionRates
from tagent.sources.kube_view import clean_labels
from tagent.sources.targets import PodResolver, target_from_labels

METRICS_API_RETRY_S = 300.0  # how long a cluster without metrics.k8s.io is not asked again
_BY = "namespace, pod"


def default_queries(rate_window: str = "2m") -> dict[str, str]:
    """The PromQL for each named metric, per (namespace, pod); rates over `rate_window`."""
    w = rate_window
    return {
        "cpu_utilization": f'sum by ({_BY}) (rate(container_cpu_usage_seconds_total{{container!="",'
                           f'container!="POD"}}[{w}])) / sum by ({_BY}) '
                           f'(kube_pod_container_resource_requests{{resource="cpu"}})',
        "memory_utilization": f'sum by ({_BY}) (container_memory_working_set_bytes{{container!="",'
                              f'container!="POD"}}) / sum by ({_BY}) '
                              f'(kube_pod_container_resource_requests{{resource="memory"}})',
        "restarts": f"sum by ({_BY}) (kube_pod_container_status_restarts_total)",
        "request_rate": f"sum by ({_BY}) (rate(http_requests_total[{w}]))",
        # `or ... * 0`: a workload without a single 5xx has no error series; its error rate is 0, not absent
        "error_rate": f'(sum by ({_BY}) (rate(http_requests_total{{code=~"5.."}}[{w}]))'
                      f" or sum by ({_BY}) (rate(http_requests_total[{w}])) * 0)"
                      f" / sum by ({_BY}) (rate(http_requests_total[{w}]))",
        "latency_p99": f"histogram_quantile(0.99, sum by ({_BY}, le) "
                       f"(rate(http_request_duration_seconds_bucket[{w}])))",
    }


DEFAULT_QUERIES = default_queries()
AGGREGATE: dict[str, Callable[[list[float]], float]] = {
    "cpu_utilization": fmean, "memory_utilization": fmean, "restarts": sum, "request_rate": sum,
    "error_rate": fmean, "latency_p99": max,
}
ZERO_CONFIG = ("cpu_utilization", "memory_utilization", "restarts")
TRAFFIC = ("request_rate", "error_rate", "latency_p99")

Found = dict[tuple[str, WorkloadRef], tuple[float, dict[str, str]]]  # (metric, target) -> (value, labels)


class MetricsSource(Source):
    name = "metrics"

    def __init__(self, emit: Emit, *, prometheus: PrometheusClient | None = None, kube: KubeClient | None = None,
                 exposition: ExpositionClient | None = None, queries: Mapping[str, str] | None = None,
                 rate_window: str = "2m", exposition_window_s: float = 60.0, namespace: str | None = None,
                 interval: float = 15.0, clock: Clock = utcnow, resolve_pod: PodResolver | None = None) -> None:
        super().__init__(emit, interval=interval, clock=clock)
        if prometheus is None and kube is None and exposition is None:
            raise PermanentError("metrics source: needs a Prometheus, Kubernetes or exposition client")
        unknown = set(queries or {}) - set(NAMED_METRICS)
        if unknown:
            raise PermanentError(f"metrics source: unknown metric names {sorted(unknown)}")
        self.prometheus = prometheus
        self.kube = kube
        self.namespace = namespace
        self.queries = {**default_queries(rate_window), **(queries or {})}
        self.resolve_pod = resolve_pod if resolve_pod is not None else (kube.resolve_pod if kube else None)
        self.exposition = exposition if prometheus is None else None  # a Prometheus server supersedes it
        self._rates = ExpositionRates(exposition_window_s, self.resolve_pod)
        self._metrics_api_retry_at: datetime | None = None

    @property
    def available(self) -> tuple[str, ...]:
        """The named metrics this configuration can produce."""
        if self.prometheus is not None:
            return tuple(self.queries)
        return (ZERO_CONFIG if self.kube is not None else ("restarts",)) + (TRAFFIC if self.exposition else ())

    def poll_once(self) -> int:
        if self.prometheus is not None:
            found = self.from_prometheus()
        else:
            found = self.from_kube() if self.kube is not None else {}
            if self.exposition is not None:
                found.update(self.from_exposition())
        if self.prometheus is not None and self.kube is not None:
            # a Prometheus without cAdvisor/kube-state-metrics: fill what it lacks from the Kubernetes API
            missing = set(ZERO_CONFIG) - {metric for metric, _ in found}
            if missing:
                found.update({k: v for k, v in self.from_kube().items() if k[0] in missing})
        now = self.clock()
        for (metric, target), (value, labels) in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1].key)):
            self._send(Event(source=EventSource.metrics, kind="Metric", reason=metric, target=target,
                             labels=labels, values={"value": value}, message=f"{metric} = {value:.4g}",
                             observed_at=now))
        return len(found)

    def _workload_labels(self) -> dict[str, dict[str, str]]:
        if self.kube is None:
            return {}
        try:
            return {w.ref.key: w.labels for w in self.kube.list_workloads(self.namespace)}
        except ExternalError as exc:
            self.count("kubernetes_errors", f"workload labels: {exc}")
            return {}

    def from_prometheus(self) -> Found:
        assert self.prometheus is not None
        grouped: dict[tuple[str, WorkloadRef], list[tuple[float, dict[str, str]]]] = defaultdict(list)
        for metric, promql in self.queries.items():
            try:
                samples = self.prometheus.query(promql)
            except TransientError as exc:
                self.count("prometheus_timeouts" if "timed out" in str(exc) else "prometheus_errors",
                           f"{metric}: {exc}")
                continue
            except PermanentError as exc:
                self.count("bad_queries", f"{metric}: {exc}")
                continue
            for s in samples:
                target = target_from_labels(s.labels, self.resolve_pod)
                if target is None or (self.namespace and target.namespace != self.namespace):
                    continue
                if not math.isfinite(s.value):
                    self.stats["non_finite_samples"] += 1
                    continue
                grouped[metric, target].append((s.value, s.labels))
        labels = self._workload_labels() if grouped else {}
        out: Found = {}
        for (metric, target), items in grouped.items():
            common = dict(set.intersection(*(set(lbl.items()) for _, lbl in items)))
            out[metric, target] = (AGGREGATE[metric]([v for v, _ in items]), {**common, **labels.get(target.key, {})})
        return out

    def from_exposition(self) -> Found:
        """Traffic metrics from two scrapes of the exposition (the first round has no rates yet)."""
        assert self.exposition is not None
        try:
            samples = self.exposition.scrape()
        except TransientError as exc:
            self.count("scrape_errors", str(exc))
            return {}
        values = self._rates.observe(samples, self.clock())
        labels = self._workload_labels()
        return {(metric, target): (value, {"namespace": target.namespace, **labels.get(target.key, {})})
                for (metric, target), value in values.items()
                if not self.namespace or target.namespace == self.namespace}

    def _pod_usage(self) -> dict[tuple[str, str], PodUsage]:
        """Pod usage from metrics.k8s.io; a cluster that does not serve it (no metrics-server: 404) is asked
        again only every METRICS_API_RETRY_S, so a poll every second does not hit a missing API every time."""
        assert self.kube is not None
        now = self.clock()
        if self._metrics_api_retry_at is not None and now < self._metrics_api_retry_at:
            return {}
        try:
            usage = {(u.namespace, u.name): u for u in self.kube.pod_metrics(self.namespace)}
        except PermanentError as exc:
            self._metrics_api_retry_at = now + timedelta(seconds=METRICS_API_RETRY_S)
            self.count("metrics_api_errors", f"{exc}; asking again in {METRICS_API_RETRY_S:g} s")
            return {}
        except ExternalError as exc:
            self.count("metrics_api_errors", str(exc))  # e.g. a timeout: restarts still work
            return {}
        self._metrics_api_retry_at = None
        return usage

    def from_kube(self) -> Found:
        assert self.kube is not None
        pods = [p for p in self.kube.list_pods(self.namespace) if not p.deleting and p.phase in ("Running",
                                                                                                  "Pending")]
        usage = self._pod_usage()
        by_target: dict[WorkloadRef, list[PodInfo]] = defaultdict(list)
        for pod in pods:
            by_target[self.kube.owner_of(pod)].append(pod)
        labels = self._workload_labels()
        out: Found = {}
        for target, members in by_target.items():
            tags = {**clean_labels(members[0].labels), **labels.get(target.key, {})}
            out["restarts", target] = (float(sum(p.restarts for p in members)), tags)
            for metric, used, request, limit in (("cpu_utilization", "cpu", "cpu_request", "cpu_limit"),
                                                 ("memory_utilization", "memory", "memory_request", "memory_limit")):
                num = den = 0.0
                for p in members:
                    u = usage.get((p.namespace, p.name))
                    cap = getattr(p, request) or getattr(p, limit)
                    if u is not None and cap > 0:
                        num += getattr(u, used)
                        den += cap
                if den > 0:
                    out[metric, target] = (num / den, tags)
        return out
