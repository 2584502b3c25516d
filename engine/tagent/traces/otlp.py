"""OTLP/HTTP trace bodies in, span rows out: decompression with a bound, protobuf or OTLP JSON parsing, and the
per-span validation whose failures become the response's `partial_success` (the rest of the body is kept).

OTLP JSON differs from protobuf's canonical JSON in one way that matters: trace and span ids are hex, not
base64, so they are rewritten before `json_format.ParseDict` (which also takes enum names or integers).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MAX_ATTRIBUTES = 32  # per span, kept in the store
MAX_VALUE_CHARS = 256
MAX_KEY_CHARS = 128
REDACTED = "[REDACTED]"
UNKNOWN_NAMESPACE = "-"
_SENSITIVE_KEY = re.compile(
    r"(?i)pass(word|wd|phrase)?|pwd|secret|token|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|"
    r"credential|cookie|authorization|signature|session[_.-]?id")
_HTTP_STATUS_KEYS = ("http.response.status_code", "http.status_code")
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_HEX = re.compile(r"[0-9a-fA-F]*")
_ZERO16, _ZERO8 = bytes(16), bytes(8)
_MAX_TH = 1 << 56  # OpenTelemetry's sampling thresholds are 56-bit
_SCALARS = frozenset(("int_value", "double_value", "bool_value"))


class BadBody(ValueError):
    """The body cannot be used at all; `status` is the HTTP answer (400, 413 or 415), the message one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Decoded:
    """What one request brings: span rows ready for the store, the last resource of each service, and the
    spans refused (counted, with the first reason)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: int = 0
    error: str = ""

    def reject(self, why: str) -> None:
        self.rejected += 1
        if not self.error:
            self.error = why


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body (every member of it), refusing (413) as soon as the output passes `limit` bytes:
    a gzip bomb costs at most `limit` bytes of memory. A damaged or truncated stream is a 400."""
    out = bytearray()
    rest = body
    try:
        while rest:
            inflater = zlib.decompressobj(wbits=31)
            out += inflater.decompress(rest, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise BadBody(413, f"the decompressed body is larger than {limit} bytes")
            out += inflater.flush()
            if len(out) > limit:
                raise BadBody(413, f"the decompressed body is larger than {limit} bytes")
            if not inflater.eof:
                raise BadBody(400, "the gzip body is truncated")
            rest = inflater.unused_data
    except zlib.error as exc:
        raise BadBody(400, f"the body is not valid gzip: {exc}") from None
    return bytes(out)


def parse(body: bytes, kind: str) -> ExportTraceServiceRequest:
    """An ExportTraceServiceRequest from a protobuf or OTLP JSON body (BadBody 400 when it is neither)."""
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError, ValueError) as exc:
            raise BadBody(400, f"the body is not an OTLP protobuf ExportTraceServiceRequest: {exc}") from None
        return request
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadBody(400, f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadBody(400, "the body is not an OTLP JSON object")
    try:
        json_format.ParseDict(_hex_ids_to_base64(data), request, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BadBody(400, f"the body is not an OTLP JSON ExportTraceServiceRequest: {first}") from None
    return request


def _id_base64(value: str) -> str:
    """An OTLP JSON id (hex; Tempo answers base64, kept as it is) as protobuf JSON's base64; "" when it is
    neither, so that its span is refused by validation rather than failing the body."""
    if len(value) in (16, 32) and _HEX.fullmatch(value):
        return base64.b64encode(bytes.fromhex(value)).decode()
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return ""
    return value


def _hex_ids_to_base64(data: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the ids of every span and link (hex in OTLP JSON) as base64, in place."""

    def fix(obj: Any) -> None:
        if not isinstance(obj, dict):
            return
        for key in _ID_FIELDS:
            value = obj.get(key)
            if isinstance(value, str):
                obj[key] = _id_base64(value)

    for resource_spans in _list(data.get("resourceSpans")):
        for scope_spans in _list(resource_spans.get("scopeSpans") if isinstance(resource_spans, dict) else None):
            for span in _list(scope_spans.get("spans") if isinstance(scope_spans, dict) else None):
                fix(span)
                for link in _list(span.get("links") if isinstance(span, dict) else None):
                    fix(link)
    return data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def value_of(value: AnyValue, depth: int = 0) -> Any:
    """A Python value for an OTLP AnyValue (arrays and maps nested at most 3 deep; bytes as hex)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "bytes_value":
        return value.bytes_value.hex()
    if depth >= 3:
        return "..."
    if which == "array_value":
        return [value_of(v, depth + 1) for v in value.array_value.values[:MAX_ATTRIBUTES]]
    if which == "kvlist_value":
        return {kv.key: value_of(kv.value, depth + 1) for kv in value.kvlist_value.values[:MAX_ATTRIBUTES]}
    return None


class Sanitizer:
    """Bounded, redacted attribute maps: at most MAX_ATTRIBUTES keys, strings cut at MAX_VALUE_CHARS; the value of
    a key that names a secret (password, token, authorization, cookie ...) and any known secret value
    (`settings.secret_values()`) inside a string become [REDACTED]."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(s for s in secrets if len(s) >= 4)
        self._hidden: dict[str, bool] = {}  # key -> whether it names a secret (the hot path asks once per key)

    def hidden(self, key: str) -> bool:
        found = self._hidden.get(key)
        if found is None:
            found = bool(_SENSITIVE_KEY.search(key))
            if len(self._hidden) < 10_000:
                self._hidden[key] = found
        return found

    def attributes(self, pairs: Iterable[KeyValue]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        known, secrets = self._hidden, self.secrets  # locals: this loop runs for every attribute of every span
        for kv in pairs:
            key = kv.key
            hidden = known.get(key)
            if hidden is None:
                hidden = self.hidden(key)
            if len(key) > MAX_KEY_CHARS:
                key = key[:MAX_KEY_CHARS]
            if hidden:
                out[key] = REDACTED
            else:
                value = kv.value
                which = value.WhichOneof("value")
                if which == "string_value":
                    text = value.string_value
                    if secrets:
                        text = self.clean(text)
                    out[key] = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS]
                elif which in _SCALARS:
                    out[key] = getattr(value, which)
                else:
                    out[key] = self.clean(value_of(value))
            if len(out) >= MAX_ATTRIBUTES:
                break
        return out

    def clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value[:MAX_VALUE_CHARS]
        if isinstance(value, list):
            return [self.clean(v) for v in value]
        if isinstance(value, dict):
            return {k: REDACTED if self.hidden(k) else self.clean(v) for k, v in value.items()}
        return value


def service_of(resource: dict[str, Any]) -> str:
    """"namespace/name": service.namespace, else k8s.namespace.name, else "-"; service.name, else
    k8s.deployment.name, else "unknown_service"."""
    namespace = resource.get("service.namespace") or resource.get("k8s.namespace.name") or UNKNOWN_NAMESPACE
    name = resource.get("service.name") or resource.get("k8s.deployment.name") or "unknown_service"
    return f"{str(namespace)[:63]}/{str(name)[:446]}"


def decode(request: ExportTraceServiceRequest, sanitizer: Sanitizer) -> Decoded:
    """Span rows for the store; a span with a bad id, no start or an end before its start is refused alone."""
    out = Decoded()
    for resource_spans in request.resource_spans:
        resource = sanitizer.attributes(resource_spans.resource.attributes)
        service = service_of(resource)
        out.resources[service] = resource
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                row = _row(span, service, sanitizer, out)
                if row is not None:
                    out.rows.append(row)
    return out


def _row(span: Any, service: str, sanitizer: Sanitizer, out: Decoded) -> dict[str, Any] | None:
    trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _ZERO16:
        out.reject(f"span {span.name!r}: trace_id must be 16 bytes, not all zero (got {len(trace_id)})")
        return None
    if len(span_id) != 8 or span_id == _ZERO8:
        out.reject(f"span {span.name!r}: span_id must be 8 bytes, not all zero (got {len(span_id)})")
        return None
    if len(parent) not in (0, 8):
        out.reject(f"span {span.name!r}: parent_span_id must be empty or 8 bytes (got {len(parent)})")
        return None
    start_ns, end_ns = span.start_time_unix_nano, span.end_time_unix_nano
    if start_ns <= 0 or end_ns < start_ns:
        out.reject(f"span {span.name!r}: start_time_unix_nano must be set and not after end_time_unix_nano")
        return None
    attributes = sanitizer.attributes(span.attributes)
    http_status = None
    for key in _HTTP_STATUS_KEYS:
        raw = attributes.get(key)
        if raw is not None:
            if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()):
                http_status = int(raw)
            break
    status = span.status.code
    name = span.name
    return {"trace_id": trace_id.hex(), "span_id": span_id.hex(), "parent_span_id": parent.hex(),
            "service": service, "name": name if len(name) <= 255 else name[:255], "kind": span.kind,
            "start_us": start_ns // 1000, "end_us": end_ns // 1000, "duration_ms": (end_ns - start_ns) / 1e6,
            "status": status, "error": status == 2 or (http_status is not None and http_status >= 500),
            "http_status": http_status, "weight": sampling_weight(span.trace_state), "attributes": attributes}


def sampling_weight(trace_state: str) -> float:
    """Requests a span stands for: 2^56 / (2^56 - th) for OpenTelemetry's probability-sampling threshold
    (`ot=th:<hex>` in the W3C trace state: the rejected share of 2^56, trailing zeros dropped); 1 without one,
    or when the value is malformed (a span is never weighted by a guess)."""
    if "th:" not in trace_state:
        return 1.0
    for member in trace_state.split(","):
        key, _, value = member.strip().partition("=")
        if key != "ot":
            continue
        for part in value.split(";"):
            name, _, raw = part.partition(":")
            if name == "th" and 0 < len(raw) <= 14 and all(c in "0123456789abcdef" for c in raw):
                threshold = int(raw.ljust(14, "0"), 16)
                return float(_MAX_TH) / (_MAX_TH - threshold)
    return 1.0


def response_body(decoded: Decoded | None, kind: str) -> bytes:
    """The ExportTraceServiceResponse, in the request's encoding (partial_success only when spans were refused)."""
    response = ExportTraceServiceResponse()
    if decoded is not None and decoded.rejected:
        response.partial_success.rejected_spans = decoded.rejected
        response.partial_success.error_message = decoded.error[:500]
    if kind == PROTOBUF:
        return response.SerializeToString()
    return json.dumps(json_format.MessageToDict(response)).encode()
