"""`Traces`: the one object the API, the rules and the dashboard use for traces, built once by build_engine.

    traces.red("shop/frontend", 900)       -> {"rate_per_s", "error_ratio", "p50_ms", ..., "source"}
    traces.traces(service="shop/frontend", errors=True, order="slowest", limit=20)
    traces.trace("4bf92f3577b34da6a3ce929d0e0e4736")   -> {"trace_id", "spans": [...]} or None
    traces.resource("shop/frontend")       -> {"service", "attributes", "last_seen"} or None

Spans come in through `ingest` (the OTLP receiver) and are written by the SpanWriter into the store's
database. Queries read the embedded store, or Tempo / Jaeger when their URL is set; RED comes from Prometheus
first when it has the service's request metrics.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tagent.clients.prometheus import PrometheusClient
from tagent.model import utcnow
from tagent.settings import Settings
from tagent.store import Store
from tagent.store.repos.traces import Spans
from tagent.traces.backends import Backend, Embedded
from tagent.traces.otlp import Decoded, Sanitizer
from tagent.traces.prom import red_from_prometheus
from tagent.traces.queries import iso, red, span_view
from tagent.traces.writer import SpanWriter

DEFAULT_LIST_WINDOW_S = 3600.0  # a trace list without `since` looks back this far
MAX_LIMIT = 500
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ReceiverLimits:
    max_body_bytes: int = 4 * 1024 * 1024
    max_decompressed_bytes: int = 16 * 1024 * 1024
    max_in_flight: int = 8  # requests read and decoded at once; more wait outside (503): memory stays bounded


def to_us(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


class Traces:
    def __init__(self, spans: Spans, writer: SpanWriter, *, backend: Backend | None = None,
                 sanitizer: Sanitizer | None = None, prometheus: PrometheusClient | None = None,
                 clock: Callable[[], datetime] = utcnow, redact: Callable[[str], str] | None = None,
                 limits: ReceiverLimits = ReceiverLimits()) -> None:
        self.spans, self.writer = spans, writer
        self.backend: Backend = backend or Embedded(spans)
        self.sanitizer = sanitizer or Sanitizer()
        self.prometheus, self.clock, self.redact, self.limits = prometheus, clock, redact, limits
        self.in_flight = 0  # requests the receiver is reading or decoding (counted on its event loop)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, *, prometheus: PrometheusClient | None = None,
                      clock: Callable[[], datetime] = utcnow, redact: Callable[[str], str] | None = None,
                      backend: Backend | None = None) -> Traces:
        spans = Spans(store.db)
        writer = SpanWriter(spans, max_queued_spans=settings.traces_queue_spans,
                            retention_s=settings.traces_retention, max_spans=settings.traces_max_spans,
                            sweep_every=settings.traces_sweep_interval, clock=clock)
        if backend is None:
            from tagent.traces.remote import remote_backend

            backend = remote_backend(settings)
        return cls(spans, writer, backend=backend, sanitizer=Sanitizer(settings.secret_values()),
                   prometheus=prometheus, clock=clock, redact=redact,
                   limits=ReceiverLimits(settings.traces_max_body_bytes, settings.traces_max_decompressed_bytes))

    # -- intake --------------------------------------------------------------------------------------

    def busy(self) -> bool:
        """Whether the receiver should refuse a request before reading it: the writer's queue is full, or as
        many requests as allowed are being read and decoded."""
        return self.in_flight >= self.limits.max_in_flight or self.writer.pending >= self.writer.max_queued_spans

    def ingest(self, decoded: Decoded) -> bool:
        """Hand a request's spans to the writer; False when its queue is full (answer 503, the client retries)."""
        return self.writer.offer(decoded)

    def start(self) -> None:
        self.writer.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.writer.stop(timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        return self.writer.flush(timeout)

    # -- queries -------------------------------------------------------------------------------------

    def red(self, service: str, window_s: float, *, at: datetime | None = None) -> dict[str, Any]:
        """Rate, errors and latency percentiles of `service` ("namespace/name") over the last `window_s`."""
        now = at or self.clock()
        if self.prometheus is not None:
            answer = red_from_prometheus(self.prometheus, service, window_s, now)
            if answer is not None:
                return answer
        since = now - timedelta(seconds=window_s)
        samples = self.backend.entry_samples(service, to_us(since), to_us(now) + 1)
        return red(service, window_s, samples, self.backend.name)

    def traces(self, *, service: str | None = None, since: datetime | None = None, until: datetime | None = None,
               limit: int = 20, errors: bool = False, min_duration_ms: float | None = None,
               order: str = "recent") -> list[dict[str, Any]]:
        """Trace summaries (see docs/traces.md), newest (`order="recent"`) or slowest first."""
        if order not in ("recent", "slowest"):
            raise ValueError(f"order must be recent or slowest, not {order!r}")
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        until = until or self.clock()
        since = since or until - timedelta(seconds=DEFAULT_LIST_WINDOW_S)
        if since >= until:
            raise ValueError("since must be before until")
        return self.backend.trace_list(service=service, since_us=to_us(since), until_us=to_us(until) + 1,
                                       errors=errors, min_duration_ms=min_duration_ms,
                                       slowest=order == "slowest", limit=limit)

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """Every span of one trace, by start time; None when unknown. ValueError for an id that is not 32 hex."""
        trace_id = trace_id.lower()
        if not _TRACE_ID.match(trace_id):
            raise ValueError(f"trace id {trace_id[:64]!r} is not 32 hex characters")
        rows = self.backend.trace_rows(trace_id)
        if not rows:
            return None
        return {"trace_id": trace_id, "spans": [span_view(r, self.redact) for r in rows]}

    def resource(self, service: str) -> dict[str, Any] | None:
        """The resource attributes last seen for `service` (runtime detection reads them)."""
        found = self.spans.resource(service)
        if found is None:
            return None
        attributes, last_seen = found
        if self.redact is not None:
            attributes = {k: self.redact(v) if isinstance(v, str) else v for k, v in attributes.items()}
        return {"service": service, "attributes": attributes, "last_seen": iso(to_us(last_seen))}

    def services(self) -> list[dict[str, str]]:
        """Every service that sent spans, with when it was last seen."""
        return [{"service": s, "last_seen": iso(to_us(at))} for s, at in self.spans.services()]

    def stats(self) -> dict[str, Any]:
        return {"backend": self.backend.name, **self.writer.describe()}

