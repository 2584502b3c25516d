"""Local HTTP servers implementing the documented query APIs of Grafana Tempo and Jaeger over a list of spans.

Tempo: GET /api/search (q: the TraceQL subset Tagent sends: resource.service.name, kind=server||kind=consumer,
status=error [|| http status >= 500]; start/end in Unix seconds; limit; minDuration; spss) and
GET /api/traces/<id> (OTLP JSON "batches", ids in base64, as Tempo 2 answers). Trace ids in search results
lose their leading zeros, as Tempo's do. Jaeger: GET /api/traces (service, start/end in µs, limit,
minDuration, tags) and GET /api/traces/<id> (404 with Jaeger's error body when unknown).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

KIND_NAMES = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass
class Sp:
    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    parent: str
    service: str  # service.name
    namespace: str
    name: str
    kind: int
    start_ns: int
    duration_ns: int
    error: bool = False
    http_status: int = 200


def _traces(spans: list[Sp]) -> dict[str, list[Sp]]:
    out: dict[str, list[Sp]] = {}
    for s in spans:
        out.setdefault(s.trace_id, []).append(s)
    return out


def _duration_ms(text: str) -> float:
    value = re.match(r"([\d.]+)(ms|s)", text)
    assert value, text
    return float(value.group(1)) * (1000 if value.group(2) == "s" else 1)


class Recorder(BaseHTTPRequestHandler):
    spans: ClassVar[list[Sp]] = []
    seen: ClassVar[list[dict[str, Any]]] = []
    fail: ClassVar[bool] = False

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).seen.append({"path": url.path, **params})
        if type(self).fail:
            self._send(500, {"error": "internal"})
            return
        self.answer(url.path, params)

    def answer(self, path: str, params: dict[str, str]) -> None:
        raise NotImplementedError


class TempoStandIn(Recorder):
    spans: ClassVar[list[Sp]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def answer(self, path: str, params: dict[str, str]) -> None:
        if path == "/api/search":
            self._send(200, {"traces": self.search(params), "metrics": {"completedJobs": 1, "totalJobs": 1}})
        elif path.startswith("/api/traces/"):
            found = _traces(self.spans).get(path.rsplit("/", 1)[1].zfill(32))
            if found is None:
                self._send(404, {"error": "trace not found"})
            else:
                self._send(200, {"batches": [self.batch(s) for s in found]})
        else:
            self._send(404, {"error": "no such path"})

    def search(self, params: dict[str, str]) -> list[dict[str, Any]]:
        q = params["q"]
        named = re.search(r'resource\.service\.name="([^"]+)"', q)
        entry, failing = "kind=server || kind=consumer" in q, "status=error" in q
        start, end = int(params["start"]) * 10**9, int(params["end"]) * 10**9
        minimum = _duration_ms(params["minDuration"]) if "minDuration" in params else None
        spss = int(params.get("spss", 3))
        results = []
        for trace_id, spans in _traces(self.spans).items():
            root = next(s for s in spans if not s.parent)
            if not start <= root.start_ns <= end:
                continue
            trace_ms = (max(s.start_ns + s.duration_ns for s in spans) - root.start_ns) / 1e6
            if minimum is not None and trace_ms < minimum:
                continue
            matched = [s for s in spans if (not named or s.service == named.group(1))
                       and (not entry or s.kind in (2, 5)) and (not failing or s.error or s.http_status >= 500)]
            if not matched:
                continue
            stats: dict[str, dict[str, int]] = {}
            for s in spans:
                stat = stats.setdefault(s.service, {"spanCount": 0, "errorCount": 0})
                stat["spanCount"] += 1
                stat["errorCount"] += int(s.error)
            span_set = {"spans": [{"spanID": s.span_id, "startTimeUnixNano": str(s.start_ns),
                                   "durationNanos": str(s.duration_ns)} for s in matched[:spss]],
                        "matched": len(matched)}
            results.append({"traceID": trace_id.lstrip("0"), "rootServiceName": root.service,
                            "rootTraceName": root.name, "startTimeUnixNano": str(root.start_ns),
                            "durationMs": int(trace_ms), "spanSet": span_set, "spanSets": [span_set],
                            "serviceStats": stats})
        return results[: int(params.get("limit", 20))]

    @staticmethod
    def batch(s: Sp) -> dict[str, Any]:
        def b64(hex_id: str) -> str:
            return base64.b64encode(bytes.fromhex(hex_id)).decode()

        span = {"traceId": b64(s.trace_id), "spanId": b64(s.span_id), "name": s.name,
                "kind": f"SPAN_KIND_{KIND_NAMES[s.kind].upper()}", "startTimeUnixNano": str(s.start_ns),
                "endTimeUnixNano": str(s.start_ns + s.duration_ns),
                "attributes": [{"key": "http.response.status_code", "value": {"intValue": str(s.http_status)}}],
                "status": {"code": "STATUS_CODE_ERROR"} if s.error else {}}
        if s.parent:
            span["parentSpanId"] = b64(s.parent)
        return {"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": s.service}},
            {"key": "service.namespace", "value": {"stringValue": s.namespace}}]},
            "scopeSpans": [{"scope": {"name": "standin"}, "spans": [span]}]}


class JaegerStandIn(Recorder):
    spans: ClassVar[list[Sp]] = []
    seen: ClassVar[list[dict[str, Any]]] = []

    def answer(self, path: str, params: dict[str, str]) -> None:
        traces = _traces(self.spans)
        if path == "/api/traces":
            start, end = int(params["start"]) * 1000, int(params["end"]) * 1000
            minimum = _duration_ms(params["minDuration"]) if "minDuration" in params else None
            errors = json.loads(params.get("tags", "{}")).get("error") == "true"
            found = []
            for spans in traces.values():
                root = next(s for s in spans if not s.parent)
                trace_ms = (max(s.start_ns + s.duration_ns for s in spans) - root.start_ns) / 1e6
                if (any(s.service == params["service"] for s in spans) and start <= root.start_ns <= end
                        and (minimum is None or trace_ms >= minimum) and (not errors or any(s.error for s in spans))):
                    found.append(self.trace(spans))
            self._send(200, {"data": found[: int(params.get("limit", 20))], "total": 0, "limit": 0, "offset": 0,
                             "errors": None})
        elif path.startswith("/api/traces/"):
            spans = traces.get(path.rsplit("/", 1)[1].zfill(32))
            if spans is None:
                self._send(404, {"data": None, "total": 0, "limit": 0, "offset": 0,
                                 "errors": [{"code": 404, "msg": "trace not found"}]})
            else:
                self._send(200, {"data": [self.trace(spans)], "errors": None})
        else:
            self._send(404, {"data": None, "errors": [{"code": 404, "msg": "no such path"}]})

    @staticmethod
    def trace(spans: list[Sp]) -> dict[str, Any]:
        processes: dict[str, dict[str, Any]] = {}
        out = []
        for s in spans:
            pid = next((k for k, v in processes.items() if v["serviceName"] == s.service), f"p{len(processes) + 1}")
            processes[pid] = {"serviceName": s.service,
                              "tags": [{"key": "service.namespace", "type": "string", "value": s.namespace}]}
            tags = [{"key": "span.kind", "type": "string", "value": KIND_NAMES[s.kind]},
                    {"key": "http.status_code", "type": "int64", "value": s.http_status},
                    {"key": "api.token", "type": "string", "value": "s3cr3t-s3cr3t"}]
            if s.error:
                tags.append({"key": "error", "type": "bool", "value": True})
            refs = [{"refType": "CHILD_OF", "traceID": s.trace_id.lstrip("0"), "spanID": s.parent}] if s.parent else []
            out.append({"traceID": s.trace_id.lstrip("0"), "spanID": s.span_id, "operationName": s.name,
                        "references": refs, "startTime": s.start_ns // 1000, "duration": s.duration_ns // 1000,
                        "tags": tags, "logs": [], "processID": pid, "warnings": None})
        return {"traceID": spans[0].trace_id.lstrip("0"), "spans": out, "processes": processes, "warnings": None}
