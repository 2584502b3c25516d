"""The traces source: what the rules' `traces` conditions ask about a service's spans, as Events.

Every round, for each `traces` condition of the enabled rules (`TraceQuery`, keyed by `condition_key(rule,
i)`), it reads the RED of the condition's service (or of every service that sent spans lately, when the
condition names none) over the condition's window from `Traces.red`, and emits one `TraceRed` event per
service whose `value` is the condition's metric (`rate_per_s`, `error_ratio`, `p50_ms`, `p95_ms`,
`p99_ms`); the other RED numbers ride along in `values` for the templates. A window with fewer than the
condition's `min_requests` emits nothing for the ratio and the latencies (`insufficient_data`): one slow
request of ten is not a p99. The comparison and `for:` are detect's job, as for PromQL conditions.

The target is the workload the service runs as: a service `shop/checkout` (service.namespace /
service.name) is the Deployment or StatefulSet `checkout` in namespace `shop` when the inventory knows it
(its labels come along, so `match.selector` works), else a Deployment of that name. So a `traces`
condition can follow a `kubernetes: {reason: RolloutStarted}` in an `all` sequence on the same workload.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.model.inventory import WorkloadInfo
from tagent.model.policy import Rule, condition_key
from tagent.sources.base import Clock, Emit, Source

RED_KEYS = ("rate_per_s", "error_ratio", "p50_ms", "p95_ms", "p99_ms", "requests")
RECENT_S = 900.0  # a service that sent no span for this long is not asked about by service-less conditions


class TraceQuery(NamedTuple):
    """One `traces` condition: which service (None: every service), which RED metric, over how long."""

    key: str
    service: str | None
    metric: str
    window_s: float
    min_requests: int = 0


class RedReader(Protocol):
    """What the source reads (tagent.traces.Traces)."""

    def red(self, service: str, window_s: float, *, at: datetime | None = None) -> dict[str, Any]: ...

    def services(self) -> list[dict[str, str]]: ...


def trace_queries(rules: Iterable[Rule]) -> list[TraceQuery]:
    """The `traces` conditions of the enabled rules, keyed like PromQL conditions."""
    out: list[TraceQuery] = []
    for rule in rules:
        if not rule.spec.enabled:
            continue
        for i, cond in enumerate(rule.spec.when.conditions):
            tc = cond.traces
            if tc is not None:
                out.append(TraceQuery(condition_key(rule.metadata.name, i), tc.service, tc.metric, float(tc.window),
                                      tc.min_requests))
    return out


def red_event(query: TraceQuery, red: Mapping[str, Any], target: WorkloadRef, labels: Mapping[str, str],
              at: datetime) -> Event | None:
    """The event a RED answer makes for one condition, or None when it has no verdict (no number, or fewer
    requests than the condition's `min_requests` for anything but the rate)."""
    value = red.get(query.metric)
    requests = float(red.get("requests") or 0)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if query.metric != "rate_per_s" and requests < query.min_requests:
        return None
    values = {k: float(v) for k in RED_KEYS if isinstance(v := red.get(k), int | float) and not isinstance(v, bool)}
    values["value"] = float(value)
    window = f"{query.window_s / 60:g}m" if query.window_s >= 60 else f"{query.window_s:g}s"
    return Event(source=EventSource.traces, kind="TraceRed", reason=query.key, target=target,
                 labels={"namespace": target.namespace, **labels}, values=values, observed_at=at,
                 message=f"{query.metric} of {target.namespace}/{target.name} over {window} = {value:.4g} "
                         f"({int(requests)} requests, from {red.get('source') or 'spans'})")


class TracesSource(Source):
    name = "traces"

    def __init__(self, traces: RedReader, queries: Iterable[TraceQuery], emit: Emit, *,
                 workloads: Callable[[], Iterable[WorkloadInfo]] = list, interval: float = 15.0,
                 clock: Clock = utcnow) -> None:
        super().__init__(emit, interval=interval, clock=clock)
        self.traces, self.workloads = traces, workloads
        self._queries: tuple[TraceQuery, ...] = tuple(queries)
        self._lock = threading.Lock()

    def set_queries(self, queries: Iterable[TraceQuery]) -> None:
        """Swap the conditions (a new rules version); the next round uses them."""
        with self._lock:
            self._queries = tuple(queries)

    @property
    def queries(self) -> tuple[TraceQuery, ...]:
        with self._lock:
            return self._queries

    def poll_once(self) -> int:
        queries = self.queries
        if not queries:
            return 0
        now = self.clock()
        seen = self._recent(now) if any(q.service is None for q in queries) else []
        known = {(w.ref.namespace, w.ref.name): w for w in self.workloads()}
        answers: dict[tuple[str, float], dict[str, Any]] = {}  # one RED per service and window per round
        emitted = 0
        for query in queries:
            for service in [query.service] if query.service else seen:
                if (service, query.window_s) not in answers:
                    answers[service, query.window_s] = self.traces.red(service, query.window_s, at=now)
                namespace, _, name = service.partition("/")
                workload = known.get((namespace, name))
                target = workload.ref if workload is not None else WorkloadRef(namespace=namespace, name=name)
                event = red_event(query, answers[service, query.window_s], target,
                                  workload.labels if workload is not None else {}, now)
                if event is None:
                    self.stats["insufficient_data"] += 1
                    continue
                self._send(event)
                emitted += 1
        return emitted

    def _recent(self, now: datetime) -> list[str]:
        """Services with a namespace that sent spans within RECENT_S (a span's clock may run ahead: kept)."""
        out = []
        for row in self.traces.services():
            service, last = str(row.get("service") or ""), str(row.get("last_seen") or "")
            namespace, _, name = service.partition("/")
            if not name or namespace in ("", "-"):  # no namespace: no workload to act on
                continue
            try:
                at = datetime.fromisoformat(last.replace("Z", "+00:00"))
            except ValueError:
                self.count("malformed_input", f"service {service}: last_seen {last[:40]!r}")
                continue
            if at >= now - timedelta(seconds=RECENT_S):
                out.append(service)
        return sorted(out)
