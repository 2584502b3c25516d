"""Tempo and Jaeger as trace backends (TAGENT_TRACES_TEMPO_URL / TAGENT_TRACES_JAEGER_URL): storage at scale lives
in a system built for it, and Tagent reads it through its HTTP query API.

Both know a service by its service.name only: a service "ns/name" is asked for as `name`, and spans whose
resource has no namespace are taken to be in `ns`. RED from them is computed from at most `SAMPLE` traces (or
Tempo span sets) of the window: `requests` is what was read, so with a busy service the rate is a lower bound
(Prometheus, e.g. fed by Tempo's metrics-generator, is the exact source and is asked first when configured).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tagent.clients.jaeger import JaegerClient
from tagent.clients.tempo import TempoClient, traceql_string
from tagent.settings import Settings
from tagent.traces.backends import Backend, order
from tagent.traces.otlp import JSON, MAX_ATTRIBUTES, Sanitizer, decode, parse
from tagent.traces.queries import KIND_CODES, entry_samples, iso, summaries

SAMPLE = 1000  # traces (Jaeger) or span sets (Tempo) read for one RED answer
SPANS_PER_SET = 100


def remote_backend(settings: Settings) -> Backend | None:
    """Tempo when its URL is set, else Jaeger when its URL is set, else None (the embedded store)."""
    sanitizer = Sanitizer(settings.secret_values())
    if settings.traces_tempo_url:
        return Tempo(TempoClient(settings.traces_tempo_url), sanitizer)
    if settings.traces_jaeger_url:
        return Jaeger(JaegerClient(settings.traces_jaeger_url), sanitizer)
    return None


def _split(service: str) -> tuple[str, str]:
    namespace, _, name = service.partition("/")
    return (namespace, name) if name else ("-", namespace)


def _when(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def _pad(trace_id: str, width: int = 32) -> str:
    return trace_id.lower().zfill(width)


class Tempo:
    name = "tempo"

    def __init__(self, client: TempoClient, sanitizer: Sanitizer) -> None:
        self.client, self.sanitizer = client, sanitizer

    def _selector(self, service: str | None, *more: str) -> str:
        terms = [f"resource.service.name={traceql_string(_split(service)[1])}"] if service else []
        terms.extend(more)
        return "{" + " && ".join(terms) + "}" if terms else "{}"

    def entry_samples(self, service: str, since_us: int, until_us: int) -> list[tuple[float, bool, float]]:
        since, until = _when(since_us), _when(until_us)
        entries = self.client.search(self._selector(service, "(kind=server || kind=consumer)"), since, until,
                                     limit=SAMPLE, spans_per_set=SPANS_PER_SET)
        failing = self.client.search(
            self._selector(service, "(kind=server || kind=consumer)",
                           "(status=error || span.http.response.status_code >= 500 || span.http.status_code >= 500)"),
            since, until, limit=SAMPLE, spans_per_set=SPANS_PER_SET)
        bad = {(t.get("traceID"), s.get("spanID")) for t in failing for s in _spans(t)}
        samples = []
        for found in entries:
            for span in _spans(found):
                start = int(span.get("startTimeUnixNano") or 0) // 1000
                if since_us <= start < until_us:
                    samples.append((int(span.get("durationNanos") or 0) / 1e6,
                                    (found.get("traceID"), span.get("spanID")) in bad, 1.0))
        return samples

    def trace_list(self, *, service: str | None, since_us: int, until_us: int, errors: bool,
                   min_duration_ms: float | None, slowest: bool, limit: int) -> list[dict[str, Any]]:
        query = self._selector(service, "status=error") if errors else self._selector(service)
        found = self.client.search(query, _when(since_us), _when(until_us), limit=limit,
                                   min_duration_ms=min_duration_ms)
        namespace = _split(service)[0] if service else "-"
        return order([self._summary(t, namespace, errors) for t in found], slowest=slowest)

    @staticmethod
    def _summary(found: dict[str, Any], namespace: str, errors: bool) -> dict[str, Any]:
        raw = found.get("serviceStats")
        stats: dict[str, Any] = raw if isinstance(raw, dict) else {}
        root = str(found.get("rootServiceName") or "unknown_service")
        names = list(dict.fromkeys([root, *stats]))
        counts = [s for s in stats.values() if isinstance(s, dict)]
        span_count = sum(int(s.get("spanCount") or 0) for s in counts)
        failing = errors or any(int(s.get("errorCount") or 0) > 0 for s in counts)
        return {"trace_id": _pad(str(found.get("traceID") or "")), "root_service": f"{namespace}/{root}",
                "root_name": str(found.get("rootTraceName") or ""),
                "start": iso(int(found.get("startTimeUnixNano") or 0) // 1000),
                "duration_ms": float(found.get("durationMs") or 0), "error": bool(failing),
                "span_count": span_count or len(_spans(found)) or 1,
                "services": [f"{namespace}/{n}" for n in names]}

    def trace_rows(self, trace_id: str) -> list[dict[str, Any]]:
        body = self.client.trace(trace_id)
        if not body:
            return []
        batches = body.get("batches") or (body.get("trace") or {}).get("resourceSpans") or body.get("resourceSpans")
        request = parse(json.dumps({"resourceSpans": batches or []}).encode(), JSON)
        return sorted(decode(request, self.sanitizer).rows, key=lambda r: r["start_us"])


def _spans(found: dict[str, Any]) -> list[dict[str, Any]]:
    sets = found.get("spanSets") or ([found["spanSet"]] if isinstance(found.get("spanSet"), dict) else [])
    return [s for st in sets if isinstance(st, dict) for s in st.get("spans") or [] if isinstance(s, dict)]


class Jaeger:
    name = "jaeger"

    def __init__(self, client: JaegerClient, sanitizer: Sanitizer) -> None:
        self.client, self.sanitizer = client, sanitizer

    def entry_samples(self, service: str, since_us: int, until_us: int) -> list[tuple[float, bool, float]]:
        namespace, name = _split(service)
        found = self.client.find_traces(name, _when(since_us), _when(until_us), limit=SAMPLE)
        rows = [r for t in found for r in self.rows(t, namespace)]
        return entry_samples(rows, service, since_us, until_us)

    def trace_list(self, *, service: str | None, since_us: int, until_us: int, errors: bool,
                   min_duration_ms: float | None, slowest: bool, limit: int) -> list[dict[str, Any]]:
        if not service:
            raise ValueError("Jaeger lists traces of one service: give service=namespace/name")
        namespace, name = _split(service)
        found = self.client.find_traces(name, _when(since_us), _when(until_us), limit=limit,
                                         min_duration_ms=min_duration_ms, tags={"error": "true"} if errors else None)
        rows = [r for t in found for r in self.rows(t, namespace)]
        return order(list(summaries(rows).values()), slowest=slowest)

    def trace_rows(self, trace_id: str) -> list[dict[str, Any]]:
        found = self.client.trace(trace_id)
        return sorted(self.rows(found, "-"), key=lambda r: r["start_us"]) if found else []

    def rows(self, trace: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
        """Span rows from one Jaeger trace; a process without a namespace tag is taken to be in `namespace`."""
        processes = trace.get("processes") if isinstance(trace.get("processes"), dict) else {}
        out = []
        for span in trace.get("spans") or []:
            if not isinstance(span, dict):
                continue
            process = processes.get(span.get("processID"), {}) if isinstance(processes, dict) else {}
            ptags = _tags(process.get("tags"))
            ns = ptags.get("service.namespace") or ptags.get("k8s.namespace.name") or namespace
            tags = _tags(span.get("tags"))
            http = tags.get("http.response.status_code", tags.get("http.status_code"))
            http_status = int(str(http).split(".")[0]) if str(http).split(".")[0].isdigit() else None
            status = {"ERROR": 2, "OK": 1}.get(str(tags.get("otel.status_code", "")).upper(), 0)
            if tags.get("error") in (True, "true"):
                status = 2
            parent = next((r.get("spanID", "") for r in span.get("references") or []
                           if isinstance(r, dict) and r.get("refType") == "CHILD_OF"), "")
            start, duration = int(span.get("startTime") or 0), int(span.get("duration") or 0)
            out.append({"trace_id": _pad(str(span.get("traceID") or trace.get("traceID") or "")),
                        "span_id": _pad(str(span.get("spanID") or ""), 16),
                        "parent_span_id": _pad(str(parent), 16) if parent else "",
                        "service": f"{ns}/{process.get('serviceName') or 'unknown_service'}",
                        "name": str(span.get("operationName") or "")[:255],
                        "kind": KIND_CODES.get(str(tags.get("span.kind", "")).lower(), 0),
                        "start_us": start, "end_us": start + duration, "duration_ms": duration / 1000,
                        "status": status, "error": status == 2 or (http_status or 0) >= 500,
                        "http_status": http_status,
                        "attributes": self.sanitizer.clean(dict(list(tags.items())[:MAX_ATTRIBUTES]))})
        return out


def _tags(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, list):
        return {}
    return {str(t.get("key")): t.get("value") for t in raw if isinstance(t, dict) and "key" in t}
