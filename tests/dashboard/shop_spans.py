"""Real OTLP spans of the sandbox's shop, sent with the OpenTelemetry SDK and its OTLP/HTTP exporter to an
engine's `POST /v1/traces`: one request is frontend -> cart -> checkout -> payment-service -> postgres, each
service with its own TracerProvider and resource (service.namespace "shop"), parent/child links carried by the
SDK's context, and explicit start/end times so latencies are exact without sleeping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

CHAIN = ("frontend", "cart", "checkout", "payment-service", "postgres")
LANGUAGES = {"frontend": "nodejs", "cart": "go", "checkout": "python", "payment-service": "java"}
ROUTES = {"frontend": "GET /", "cart": "GET /cart", "checkout": "POST /checkout", "payment-service": "POST /pay",
          "postgres": "SELECT payments"}


@dataclass
class Shop:
    """One TracerProvider per shop service, all exporting to `endpoint` (the engine's /v1/traces)."""

    endpoint: str
    token: str
    providers: dict[str, TracerProvider] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for service in CHAIN:
            attributes = {"service.name": service, "service.namespace": "shop", "k8s.namespace.name": "shop"}
            if service in LANGUAGES:  # what each runtime's SDK declares (postgres has no SDK of its own)
                attributes["telemetry.sdk.language"] = LANGUAGES[service]
            provider = TracerProvider(resource=Resource.create(attributes))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
                endpoint=self.endpoint, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)))
            self.providers[service] = provider

    def request(self, *, start_ns: int | None = None, step_ms: float = 4.0, failing: str | None = None,
                failing_status: int = 500, slow: dict[str, float] | None = None) -> str:
        """One request through the chain; `failing` answers `failing_status` with an error status (and so do
        its callers), `slow` adds ms to a service's own time. Returns the trace id (hex)."""
        begin = start_ns if start_ns is not None else time.time_ns()
        extra = slow or {}
        # each service spends step_ms (+ its extra) before its call and after it returns
        own = {s: step_ms + extra.get(s, 0.0) for s in CHAIN}
        starts, ends = {}, {}
        at = begin
        for s in CHAIN:
            starts[s] = at
            at += int(own[s] * 1e6)
        for s in reversed(CHAIN):
            ends[s] = at
            at += int(own[s] * 1e6)
        broken = set(CHAIN[:CHAIN.index(failing) + 1]) if failing else set()
        context = None
        spans = []
        for s in CHAIN:
            tracer = self.providers[s].get_tracer("tests.dashboard.shop")
            span = tracer.start_span(ROUTES[s], context=context, kind=SpanKind.SERVER, start_time=starts[s])
            span.set_attribute("http.response.status_code", failing_status if s in broken else 200)
            if s in broken:
                span.set_status(Status(StatusCode.ERROR, "payment declined by upstream"))
            context = trace.set_span_in_context(span)
            spans.append((s, span))
        for s, span in reversed(spans):
            span.end(end_time=ends[s])
        return format(spans[0][1].get_span_context().trace_id, "032x")

    def flush(self) -> None:
        for provider in self.providers.values():
            assert provider.force_flush(10_000), "the OTLP exporter did not flush"

    def close(self) -> None:
        for provider in self.providers.values():
            provider.shutdown()


@contextmanager
def shop(endpoint: str, token: str) -> Iterator[Shop]:
    sender = Shop(endpoint, token)
    try:
        yield sender
    finally:
        sender.close()


def send_traffic(endpoint: str, token: str, *, count: int = 20, failing_at: tuple[int, ...] = (7, 15),
                 slow_at: int = 11) -> tuple[str, str]:
    """`count` requests 5 s apart ending 20 s ago, those at `failing_at` failing at payment-service, the one
    at `slow_at` 400 ms slower at checkout; returns (the newest failing trace id, the slow trace id)."""
    now = time.time_ns()
    failing = slow = ""
    with shop(endpoint, token) as sender:
        for i in range(count):
            start = now - ((count - i) * 5 + 15) * 1_000_000_000
            if i in failing_at:
                failing = sender.request(start_ns=start, failing="payment-service")
            elif i == slow_at:
                slow = sender.request(start_ns=start, slow={"checkout": 400.0})
            else:
                sender.request(start_ns=start)
        sender.flush()
    return failing, slow
