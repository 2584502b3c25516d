"""Build OTLP ExportTraceServiceRequests from spans whose every number the test chose (durations, statuses)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

SERVER, CLIENT, INTERNAL = 2, 3, 1


@dataclass
class S:
    """One span to send: service "ns/name", times in ms relative to `at_ns` (default: now)."""

    service: str
    trace_id: bytes
    span_id: bytes
    parent: bytes = b""
    name: str = "GET /"
    kind: int = SERVER
    start_ms: float = 0.0  # offset from the request's base time
    duration_ms: float = 10.0
    status: int = 0
    http_status: int | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def ids(rnd: random.Random) -> tuple[bytes, bytes]:
    return rnd.randbytes(16), rnd.randbytes(8)


def request(spans: list[S], *, at_ns: int | None = None, resource: dict[str, str] | None = None
            ) -> ExportTraceServiceRequest:
    base = at_ns if at_ns is not None else time.time_ns()
    out = ExportTraceServiceRequest()
    by_service: dict[str, Any] = {}
    for s in spans:
        if s.service not in by_service:
            namespace, name = s.service.split("/", 1)
            rs = out.resource_spans.add()
            attrs = {"service.name": name, "service.namespace": namespace, **(resource or {})}
            for k, v in attrs.items():
                rs.resource.attributes.add(key=k, value=AnyValue(string_value=v))
            by_service[s.service] = rs.scope_spans.add()
        span = by_service[s.service].spans.add()
        span.trace_id, span.span_id, span.parent_span_id = s.trace_id, s.span_id, s.parent
        span.name, span.kind = s.name, s.kind
        span.start_time_unix_nano = base + int(s.start_ms * 1e6)
        span.end_time_unix_nano = span.start_time_unix_nano + int(s.duration_ms * 1e6)
        span.status.code = s.status
        if s.http_status is not None:
            span.attributes.add(key="http.response.status_code", value=AnyValue(int_value=s.http_status))
        for k, v in s.attributes.items():
            value = AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=str(v))
            span.attributes.add(key=k, value=value)
    return out


def chain(service_names: list[str], rnd: random.Random, *, total_ms: float = 100.0, error_at: int | None = None
          ) -> list[S]:
    """One trace through `service_names`: each calls the next (SERVER spans nested in time)."""
    trace_id = rnd.randbytes(16)
    spans: list[S] = []
    parent = b""
    for depth, service in enumerate(service_names):
        span_id = rnd.randbytes(8)
        failed = error_at == depth
        spans.append(S(service, trace_id, span_id, parent, name=f"op-{depth}", start_ms=depth * 5.0,
                       duration_ms=total_ms - depth * 10.0, status=2 if failed else 0,
                       http_status=500 if failed else 200))
        parent = span_id
    return spans
