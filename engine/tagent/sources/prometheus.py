"""Rule PromQL queries → PromQuery events, one per result series per round.

Configured from the active rules as `SourceQuery(condition_key(rule, i), query)`; every series becomes an
event whose reason is that key and whose target comes from the series labels (see `targets`). The
comparison and the `for:` window are detect's job: this source only reports values. A Prometheus that
times out or fails is counted per query (`prometheus_timeouts`, `prometheus_errors`), a query Prometheus
rejects as `bad_queries`; NaN and ±Inf samples are skipped (`non_finite_samples`). The other queries still run.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable

from tagent.clients.prometheus import PrometheusClient, Sample
from tagent.errors import PermanentError, TransientError
from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.sources.base import Clock, Emit, Source, SourceQuery
from tagent.sources.targets import PodResolver, target_from_labels

MAX_LABELS = 64
MAX_SERIES = 5000  # per query and round: a query that explodes into cardinality is cut and counted


def query_target(key: str, labels: dict[str, str], resolve_pod: PodResolver | None) -> WorkloadRef:
    """The workload a series is about; a cluster-wide series (no workload labels) targets the condition."""
    return target_from_labels(labels, resolve_pod) or WorkloadRef(kind="Query", name=key)


class PrometheusQuerySource(Source):
    name = "prometheus"

    def __init__(self, prometheus: PrometheusClient, queries: Iterable[SourceQuery], emit: Emit, *,
                 interval: float = 15.0, clock: Clock = utcnow, resolve_pod: PodResolver | None = None) -> None:
        super().__init__(emit, interval=interval, clock=clock)
        self.prometheus = prometheus
        self.resolve_pod = resolve_pod
        self._queries: tuple[SourceQuery, ...] = tuple(queries)
        self._lock = threading.Lock()

    def set_queries(self, queries: Iterable[SourceQuery]) -> None:
        """Swap the queries (a new rules version); the next round uses them."""
        with self._lock:
            self._queries = tuple(queries)

    @property
    def queries(self) -> tuple[SourceQuery, ...]:
        with self._lock:
            return self._queries

    def poll_once(self) -> int:
        emitted = 0
        for query in self.queries:
            try:
                samples = self.prometheus.query(query.text)
            except TransientError as exc:
                self.count("prometheus_timeouts" if "timed out" in str(exc) else "prometheus_errors",
                           f"{query.key}: {exc}")
                continue
            except PermanentError as exc:
                self.count("bad_queries", f"{query.key}: {exc}")
                continue
            for event in self.to_events(query, samples):
                self._send(event)
                emitted += 1
        return emitted

    def to_events(self, query: SourceQuery, samples: list[Sample]) -> list[Event]:
        if len(samples) > MAX_SERIES:
            self.count("series_cut", f"{query.key}: {len(samples)} series, kept {MAX_SERIES}")
            samples = samples[:MAX_SERIES]
        now = self.clock()
        out = []
        for sample in samples:
            if not math.isfinite(sample.value):
                self.stats["non_finite_samples"] += 1
                continue
            labels = dict(list(sample.labels.items())[:MAX_LABELS])
            out.append(Event(source=EventSource.prometheus, kind="PromQuery", reason=query.key,
                             target=query_target(query.key, sample.labels, self.resolve_pod), labels=labels,
                             values={"value": sample.value}, message=f"{query.text} = {sample.value:g}",
                             observed_at=now))
        return out
