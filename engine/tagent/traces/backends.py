"""Where trace queries read spans: the embedded store, or Tempo / Jaeger on large clusters. Each backend answers
in span rows (the columns of the embedded store) or in trace summaries, so the queries are computed once."""

from __future__ import annotations

from typing import Any, Protocol

from tagent.store.repos.traces import Spans
from tagent.traces.queries import summaries


class Backend(Protocol):
    name: str  # the RED answer's "source"

    def entry_samples(self, service: str, since_us: int, until_us: int) -> list[tuple[float, bool, float]]:
        """(duration_ms, error, weight: requests the span stands for) of the service's entry spans in the window."""
        ...

    def trace_list(self, *, service: str | None, since_us: int, until_us: int, errors: bool,
                   min_duration_ms: float | None, slowest: bool, limit: int) -> list[dict[str, Any]]:
        """Trace summaries (see `queries.summaries`), newest or slowest first."""
        ...

    def trace_rows(self, trace_id: str) -> list[dict[str, Any]]:
        """Every span of one trace (empty when unknown)."""
        ...


class Embedded:
    """The spans table in the store's database."""

    name = "spans"

    def __init__(self, spans: Spans) -> None:
        self.spans = spans

    def entry_samples(self, service: str, since_us: int, until_us: int) -> list[tuple[float, bool, float]]:
        return self.spans.entry_spans(service, since_us, until_us)

    def trace_list(self, *, service: str | None, since_us: int, until_us: int, errors: bool,
                   min_duration_ms: float | None, slowest: bool, limit: int) -> list[dict[str, Any]]:
        ids = self.spans.trace_ids(service=service, since_us=since_us, until_us=until_us,
                                   errors=errors, min_duration_ms=min_duration_ms,
                                   slowest=slowest, limit=limit)
        return order(list(summaries(self.spans.spans_of(ids)).values()), slowest=slowest)

    def trace_rows(self, trace_id: str) -> list[dict[str, Any]]:
        return self.spans.spans_of([trace_id])


def order(items: list[dict[str, Any]], *, slowest: bool) -> list[dict[str, Any]]:
    if slowest:
        return sorted(items, key=lambda t: t["duration_ms"], reverse=True)
    return sorted(items, key=lambda t: t["start"], reverse=True)
