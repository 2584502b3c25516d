"""The embedded span store and the queries over it, on SQLite and on PostgreSQL: RED from entry spans checked
against numbers computed from the generated spans, trace lists, duplicates, retention by age and by count."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

from tagent.store import Store
from tagent.traces.otlp import Sanitizer, decode
from tagent.traces.service import Traces
from tests.traces.conftest import NOW, MakeTraces
from tests.traces.otlp import CLIENT, INTERNAL, SERVER, S, chain, request

NOW_NS = int(NOW.timestamp()) * 1_000_000_000


def _send(traces: Traces, spans: list[S], at_ns: int = NOW_NS, resource: dict[str, str] | None = None) -> None:
    assert traces.ingest(decode(request(spans, at_ns=at_ns, resource=resource), Sanitizer()))
    assert traces.flush(30)


def _stored_ms(duration_ms: float) -> float:
    return int(duration_ms * 1e6) / 1e6  # what the span carries: whole nanoseconds


def test_red_from_server_spans_matches_the_generated_numbers(store: Store, rnd: random.Random,
                                                             make_traces: MakeTraces) -> None:
    traces = make_traces(store)
    window_s = 900
    spans: list[S] = []
    expected: list[tuple[float, bool]] = []
    for _ in range(240):
        start_ms = -rnd.uniform(0, window_s * 1000 - 1)  # in the window, before NOW
        duration = rnd.choice([rnd.uniform(1, 40), rnd.uniform(40, 400), rnd.uniform(400, 2000)])
        status = rnd.choice([0, 0, 0, 1, 2])
        http = rnd.choice([200, 200, 201, 404, 500, 503])
        trace_id, span_id = rnd.randbytes(16), rnd.randbytes(8)
        spans.append(S("shop/api", trace_id, span_id, kind=SERVER, start_ms=start_ms, duration_ms=duration,
                       status=status, http_status=http))
        expected.append((_stored_ms(duration), status == 2 or http >= 500))
        # not requests of shop/api: its outgoing calls, and spans before the window
        spans.append(S("shop/api", trace_id, rnd.randbytes(8), span_id, kind=CLIENT, start_ms=start_ms + 1,
                       duration_ms=duration / 2, status=2))
    for _ in range(30):
        spans.append(S("shop/api", rnd.randbytes(16), rnd.randbytes(8), kind=SERVER,
                       start_ms=-(window_s + rnd.uniform(1, 600)) * 1000, duration_ms=5000, status=2))
    _send(traces, spans)

    answer = traces.red("shop/api", window_s, at=NOW)
    durations = sorted(d for d, _ in expected)
    cuts = statistics.quantiles(durations, n=100, method="inclusive")
    assert answer["source"] == "spans" and answer["requests"] == 240 and answer["window_s"] == window_s
    assert abs(answer["rate_per_s"] - 240 / window_s) < 1e-9
    assert abs(answer["error_ratio"] - sum(e for _, e in expected) / 240) < 1e-9
    for key, cut in (("p50_ms", cuts[49]), ("p95_ms", cuts[94]), ("p99_ms", cuts[98])):
        assert abs(answer[key] - cut) <= 0.001, key


def test_red_uses_root_spans_when_a_service_has_no_server_spans(store: Store, rnd: random.Random,
                                                                make_traces: MakeTraces) -> None:
    traces = make_traces(store)
    roots = [S("jobs/batch", rnd.randbytes(16), rnd.randbytes(8), kind=INTERNAL, start_ms=-i * 1000.0,
               duration_ms=100.0 * (i + 1), status=2 if i == 0 else 0) for i in range(4)]
    children = [S("jobs/batch", r.trace_id, rnd.randbytes(8), r.span_id, kind=INTERNAL, start_ms=r.start_ms,
                  duration_ms=1.0) for r in roots]
    _send(traces, roots + children)
    answer = traces.red("jobs/batch", 60, at=NOW)
    assert answer["requests"] == 4 and answer["error_ratio"] == 0.25
    assert answer["p50_ms"] == statistics.median([100.0, 200.0, 300.0, 400.0])
    idle = traces.red("jobs/never", 60, at=NOW)
    assert (idle["requests"], idle["rate_per_s"], idle["error_ratio"], idle["p99_ms"]) == (0, 0.0, 0.0, None)


def test_trace_lists_filter_and_order(store: Store, rnd: random.Random, make_traces: MakeTraces) -> None:
    traces = make_traces(store)
    sent = []
    for i in range(12):
        spans = chain(["shop/front", "shop/cart", "shop/db"], rnd, total_ms=50.0 + 37 * ((i * 7) % 12),
                      error_at=2 if i % 4 == 0 else None)
        _send(traces, spans, at_ns=NOW_NS - (12 - i) * 60 * 1_000_000_000)  # one a minute, the last a minute ago
        sent.append((spans[0].trace_id.hex(), 50.0 + 37 * ((i * 7) % 12), i % 4 == 0, i))
    since, until = NOW - timedelta(hours=1), NOW
    recent = traces.traces(service="shop/cart", since=since, until=until, limit=5)
    assert [t["trace_id"] for t in recent] == [t for t, *_ in reversed(sent)][:5]
    first = recent[0]
    assert first["root_service"] == "shop/front" and first["services"] == ["shop/front", "shop/cart", "shop/db"]
    assert first["span_count"] == 3 and first["root_name"] == "op-0"
    slowest = traces.traces(service="shop/front", since=since, until=until, limit=3, order="slowest")
    assert [t["duration_ms"] for t in slowest] == sorted((d for _, d, *_ in sent), reverse=True)[:3]
    failing = traces.traces(service="shop/db", since=since, until=until, errors=True, limit=50)
    assert {t["trace_id"] for t in failing} == {t for t, _, e, _ in sent if e}
    assert all(t["error"] for t in failing)
    long = traces.traces(since=since, until=until, min_duration_ms=300, limit=50)
    assert {t["trace_id"] for t in long} == {t for t, d, *_ in sent if d >= 300}
    older = traces.traces(since=since, until=NOW - timedelta(minutes=6, seconds=30), limit=50)
    assert {t["trace_id"] for t in older} == {t for t, _, _, i in sent if i < 6}
    one = traces.trace(sent[0][0])
    assert one is not None and [s["service"] for s in one["spans"]] == ["shop/front", "shop/cart", "shop/db"]
    assert one["spans"][2]["status"] == "error" and one["spans"][1]["parent_span_id"] == one["spans"][0]["span_id"]
    assert traces.trace("0" * 31 + "1") is None


def test_a_span_sent_twice_is_stored_once_and_the_newest_resource_wins(store: Store, rnd: random.Random,
                                                                         make_traces: MakeTraces) -> None:
    clock = [NOW]
    traces = make_traces(store, clock=lambda: clock[0])
    spans = chain(["shop/twice", "shop/other"], rnd)
    _send(traces, spans, resource={"telemetry.sdk.language": "java"})
    clock[0] = NOW + timedelta(minutes=1)
    _send(traces, spans, resource={"telemetry.sdk.language": "go", "process.runtime.name": "go"})
    assert traces.spans.count() == 2
    resource = traces.resource("shop/twice")
    assert resource is not None and resource["attributes"]["telemetry.sdk.language"] == "go"
    assert resource["last_seen"] == "2026-12-02T12:01:00.000000Z"
    assert traces.resource("shop/nobody") is None
    assert [s["service"] for s in traces.services()] == ["shop/other", "shop/twice"]


def test_retention_drops_old_spans_then_the_oldest_beyond_the_cap(store: Store, rnd: random.Random,
                                                                  make_traces: MakeTraces) -> None:
    traces = make_traces(store, retention_s=3600, max_spans=50)
    ages_s = [rnd.uniform(0, 7200) for _ in range(120)]
    spans = [S("shop/kept", rnd.randbytes(16), rnd.randbytes(8), start_ms=-age * 1000) for age in ages_s]
    _send(traces, spans)
    assert traces.spans.count() == 120
    removed = traces.writer.sweep()
    young = sorted(a for a in ages_s if a * 1000 < 3600 * 1000)
    kept = young[:50]  # the newest 50 of those younger than an hour
    assert removed == 120 - len(kept) and traces.spans.count() == len(kept)
    starts = sorted(r["start_us"] for r in traces.spans.spans_of([s.trace_id.hex() for s in spans]))
    newest_dropped = max((a for a in young if a not in kept), default=None)
    if newest_dropped is not None:
        assert starts[0] >= int((NOW_NS - newest_dropped * 1e9) / 1000)
    assert traces.writer.stats.pruned == removed and traces.spans.size_bytes() > 0


def test_the_writer_survives_its_own_restart(store: Store, rnd: random.Random, make_traces: MakeTraces) -> None:
    traces = make_traces(store)
    _send(traces, chain(["shop/a", "shop/b"], rnd))
    traces.stop()
    _send(traces, chain(["shop/a", "shop/b"], rnd))  # offer starts the writer again
    assert traces.spans.count() == 4
    traces.stop()
