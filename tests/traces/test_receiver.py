"""The OTLP/HTTP receiver on the real engine API (uvicorn on 127.0.0.1): the OpenTelemetry SDK's own exporter,
OTLP JSON, gzip, partial success, bad bodies (4xx, nothing else lost) and a flood (503, bounded, nothing lost)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.traces.conftest import API_TOKEN, MAX_BODY, MAX_DECOMPRESSED, WEBHOOK_TOKEN, Served
from tests.traces.otlp import S, chain, request

pytestmark = pytest.mark.xdist_group("traces-engine")


def _provider(served: Served, service: str, *, gzip_body: bool = False) -> TracerProvider:
    namespace, name = service.split("/")
    provider = TracerProvider(resource=Resource.create({"service.name": name, "service.namespace": namespace,
                                                        "process.runtime.name": "cpython"}))
    exporter = OTLPSpanExporter(endpoint=served.otlp, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
                                compression=Compression.Gzip if gzip_body else Compression.NoCompression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def _stored(served: Served, trace_id: str) -> list[dict[str, object]]:
    assert served.engine.traces is not None
    served.engine.traces.flush(10)
    found = httpx.get(f"{served.url}/api/v1/traces/{trace_id}", headers=served.api_headers())
    return list(found.json()["spans"]) if found.status_code == 200 else []


def _count(served: Served, spans: list[S]) -> int:
    assert served.engine.traces is not None
    served.engine.traces.flush(20)
    rows = served.engine.traces.spans.spans_of({s.trace_id.hex() for s in spans})
    wanted = {s.span_id.hex() for s in spans}
    return sum(1 for r in rows if r["span_id"] in wanted)


def test_the_sdk_exporter_round_trip_across_two_services_with_gzip(served: Served) -> None:
    frontend, cart = _provider(served, "shop/frontend"), _provider(served, "shop/cart", gzip_body=True)
    with frontend.get_tracer("t").start_as_current_span("GET /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.response.status_code", 200)
        root.set_attribute("db.password", "hunter2-hunter2")
        root.set_attribute("note", f"token was {API_TOKEN}")
        with cart.get_tracer("t").start_as_current_span("POST /cart", kind=SpanKind.SERVER) as child:
            child.set_attribute("http.response.status_code", 503)
            child.set_status(Status(StatusCode.ERROR, "cart is down"))
    trace_id = format(root.get_span_context().trace_id, "032x")
    frontend.shutdown()
    cart.shutdown()

    spans = {s["name"]: s for s in _stored(served, trace_id)}
    assert set(spans) == {"GET /checkout", "POST /cart"}
    parent, child_view = spans["GET /checkout"], spans["POST /cart"]
    assert child_view["parent_span_id"] == parent["span_id"] and parent["parent_span_id"] is None
    assert (parent["service"], child_view["service"]) == ("shop/frontend", "shop/cart")
    assert (parent["kind"], parent["status"], parent["http_status"]) == ("server", "unset", 200)
    assert (child_view["status"], child_view["http_status"]) == ("error", 503)
    attributes = parent["attributes"]
    assert isinstance(attributes, dict)
    assert attributes["db.password"] == "[REDACTED]" and API_TOKEN not in json.dumps(attributes)
    listed = httpx.get(f"{served.url}/api/v1/traces", params={"service": "shop/cart", "since": "2000-01-01T00:00Z"},
                       headers=served.api_headers()).json()["traces"]
    entry = next(t for t in listed if t["trace_id"] == trace_id)
    assert entry["root_service"] == "shop/frontend" and entry["services"] == ["shop/frontend", "shop/cart"]
    assert entry["error"] is True and entry["span_count"] == 2
    resource = httpx.get(f"{served.url}/api/v1/services/shop/cart/resource", headers=served.api_headers()).json()
    assert resource["attributes"]["telemetry.sdk.language"] == "python"
    assert resource["attributes"]["process.runtime.name"] == "cpython"


def test_otlp_json_with_hex_ids_and_enum_names_or_numbers(served: Served, rnd: random.Random) -> None:
    trace_id, a, b = rnd.randbytes(16).hex(), rnd.randbytes(8).hex(), rnd.randbytes(8).hex()
    now = time.time_ns()
    body = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}},
                                    {"key": "k8s.namespace.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [
            {"traceId": trace_id, "spanId": a, "name": "root", "kind": "SPAN_KIND_SERVER",
             "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 25_000_000),
             "status": {"code": "STATUS_CODE_ERROR"},
             "attributes": [{"key": "http.status_code", "value": {"intValue": "502"}}], "futureField": 1},
            {"traceId": trace_id, "spanId": b, "parentSpanId": a, "name": "child", "kind": 3,
             "startTimeUnixNano": now + 1_000_000, "endTimeUnixNano": now + 5_000_000, "status": {"code": 1}}]}]}]}
    answer = httpx.post(served.otlp, content=json.dumps(body), headers=served.webhook_headers("application/json"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json") and answer.json() == {}
    spans = {s["name"]: s for s in _stored(served, trace_id)}
    assert spans["root"]["service"] == "shop/json-svc" and spans["root"]["kind"] == "server"
    assert (spans["root"]["status"], spans["root"]["http_status"], spans["root"]["duration_ms"]) == ("error", 502, 25.0)
    assert (spans["child"]["kind"], spans["child"]["status"], spans["child"]["parent_span_id"]) == ("client", "ok", a)


def test_spans_that_fail_validation_are_refused_alone(served: Served, rnd: random.Random) -> None:
    good = chain(["shop/partial-a", "shop/partial-b", "shop/partial-c"], rnd)
    bad_id = S("shop/partial-a", rnd.randbytes(15), rnd.randbytes(8), name="short-trace-id")
    backwards = S("shop/partial-a", rnd.randbytes(16), rnd.randbytes(8), name="ends-first", duration_ms=-5)
    body = request([*good, bad_id, backwards]).SerializeToString()
    answer = httpx.post(served.otlp, content=body, headers=served.webhook_headers())
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(answer.content)
    assert parsed.partial_success.rejected_spans == 2
    assert "trace_id must be 16 bytes" in parsed.partial_success.error_message
    assert _count(served, good) == 3

    as_json = json.loads(httpx.post(served.otlp, content=json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "zz", "spanId": "0102030405060708", "name": "x", "startTimeUnixNano": "1"}]}]}]}),
        headers=served.webhook_headers("application/json")).content)
    assert as_json["partialSuccess"]["rejectedSpans"] in (1, "1")


def test_bad_bodies_get_4xx_with_one_line_and_lose_nothing_else(served: Served, rnd: random.Random) -> None:
    first = [s for _ in range(20) for s in chain(["shop/bad-a", "shop/bad-b"], rnd)]
    last = [s for _ in range(20) for s in chain(["shop/bad-a", "shop/bad-b"], rnd)]
    assert httpx.post(served.otlp, content=request(first).SerializeToString(),
                      headers=served.webhook_headers()).status_code == 200
    proto = request(first).SerializeToString()
    bomb = gzip.compress(b"\n" * (MAX_DECOMPRESSED * 8))  # ~8 KB that inflates past the limit
    assert len(bomb) < MAX_BODY
    cases: list[tuple[bytes, dict[str, str], int, str]] = [
        (b"\xff\x00garbage" * 10, served.webhook_headers(), 400, "not an OTLP protobuf"),
        (proto[: len(proto) // 2 + 3], served.webhook_headers(), 400, "not an OTLP protobuf"),
        (b"{not json", served.webhook_headers("application/json"), 400, "not valid JSON"),
        (b"[1, 2]", served.webhook_headers("application/json"), 400, "not an OTLP JSON object"),
        (b'{"resourceSpans": 7}', served.webhook_headers("application/json"), 400, "ExportTraceServiceRequest"),
        (gzip.compress(proto)[:200], {**served.webhook_headers(), "Content-Encoding": "gzip"}, 400, "truncated"),
        (proto, {**served.webhook_headers(), "Content-Encoding": "gzip"}, 400, "not valid gzip"),
        (bomb, {**served.webhook_headers(), "Content-Encoding": "gzip"}, 413, "decompressed body is larger"),
        (b"\x00" * (MAX_BODY + 1), served.webhook_headers(), 413, "larger than"),
        (proto, served.webhook_headers("text/plain"), 415, "is not application/x-protobuf"),
        (proto, {**served.webhook_headers(), "Content-Encoding": "br"}, 415, "not gzip or identity"),
    ]
    for body, headers, code, words in cases:
        answer = httpx.post(served.otlp, content=body, headers=headers)
        assert answer.status_code == code, (words, answer.text)
        detail = answer.json()["detail"]
        assert words in detail and "\n" not in detail
    streamed = httpx.post(served.otlp, content=iter([b"\x0a" * 40_000] * 3), headers=served.webhook_headers())
    assert streamed.status_code == 413  # chunked, no Content-Length: refused once past the limit
    anonymous = httpx.post(served.otlp, content=proto, headers={"Content-Type": "application/x-protobuf"})
    assert anonymous.status_code == 401
    half = len(last) // 2  # two gzip members (two protobuf messages concatenated: one request)
    members = gzip.compress(request(last[:half]).SerializeToString()) + gzip.compress(
        request(last[half:]).SerializeToString())
    assert httpx.post(served.otlp, content=members,
                      headers={**served.webhook_headers(), "Content-Encoding": "gzip"}).status_code == 200
    assert _count(served, first) == len(first) and _count(served, last) == len(last)


def test_a_flood_gets_503_with_retry_after_and_every_accepted_span_is_kept(served: Served,
                                                                         rnd: random.Random) -> None:
    traces = served.engine.traces
    assert traces is not None
    writer = traces.writer
    limit, writer.max_queued_spans = writer.max_queued_spans, 2_000
    bodies = [[s for _ in range(100) for s in chain(["shop/flood-a", "shop/flood-b", "shop/flood-c"], rnd)]
              for _ in range(30)]  # 300 spans a request, 9,000 in all: more than the queue holds
    database = served.engine.store.db.url.database
    assert database is not None
    blocker = sqlite3.connect(database, timeout=30, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer cannot commit: the queue fills
    high = [0]
    watching = threading.Event()

    def watch() -> None:
        while not watching.wait(0.005):
            high[0] = max(high[0], writer.pending)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda spans: httpx.post(served.otlp, content=request(spans).SerializeToString(),
                                                             headers=served.webhook_headers(), timeout=30), bodies))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        watching.set()
        watcher.join()
        writer.max_queued_spans = limit
    busy = [a for a in answers if a.status_code == 503]
    accepted = [spans for spans, a in zip(bodies, answers, strict=True) if a.status_code == 200]
    assert busy and accepted and len(busy) + len(accepted) == len(bodies)
    assert all(a.headers["retry-after"] == "2" and "retry later" in a.json()["detail"] for a in busy)
    assert high[0] <= 2_000 + 300  # bounded: at most one request beyond the limit, when the queue was empty
    assert all(_count(served, spans) == len(spans) for spans in accepted)
    retried = [spans for spans, a in zip(bodies, answers, strict=True) if a.status_code == 503]
    for spans in retried:  # what an OTLP exporter does after Retry-After
        assert httpx.post(served.otlp, content=request(spans).SerializeToString(),
                          headers=served.webhook_headers()).status_code == 200
    assert all(_count(served, spans) == len(spans) for spans in bodies)



def test_requests_beyond_those_in_flight_are_refused_before_their_body_is_read(served: Served,
                                                                               rnd: random.Random) -> None:
    traces = served.engine.traces
    assert traces is not None
    spans = [s for _ in range(10) for s in chain(["shop/slow-a", "shop/slow-b"], rnd)]
    body = request(spans).SerializeToString()
    release = threading.Event()

    def slowly() -> object:
        yield body[:100]
        release.wait(20)  # the first request holds its in-flight slot while its body trickles in
        yield body[100:]

    saved, traces.limits = traces.limits, dataclasses.replace(traces.limits, max_in_flight=1)
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(httpx.post, served.otlp, content=slowly(), headers=served.webhook_headers(),
                                timeout=30)
            deadline = time.monotonic() + 10
            while traces.in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            second = httpx.post(served.otlp, content=body, headers=served.webhook_headers())
            release.set()
            assert first.result().status_code == 200
    finally:
        release.set()
        traces.limits = saved
    assert second.status_code == 503 and second.headers["retry-after"] == "2"
    assert traces.in_flight == 0 and _count(served, spans) == len(spans)
