"""Pure computations over span rows, shared by every backend (embedded store, Tempo, Jaeger): RED numbers from
entry spans, trace summaries for lists, the API's view of a span, and parsing of windows like `15m`."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

MIN_WINDOW_S = 10.0
MAX_WINDOW_S = 7 * 86_400.0
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
STATUS = {0: "unset", 1: "ok", 2: "error"}
KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
KIND_CODES = {v: k for k, v in KINDS.items()}


def parse_window(text: str) -> float:
    """Seconds in "30s", "15m", "1h", "2d" or a bare number of seconds (ValueError, one line, otherwise)."""
    match = _WINDOW.match(text or "")
    if not match:
        raise ValueError(f"window {text!r} is not a duration like 15m, 1h or 900")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2) or "s"]
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise ValueError(f"window {text!r} must be between {MIN_WINDOW_S:g}s and {MAX_WINDOW_S / 86_400:g}d")
    return seconds


def parse_duration_ms(text: str) -> float:
    """Milliseconds in "250ms", "1.5s" or a bare number of milliseconds."""
    match = _WINDOW.match(text or "")
    if not match:
        raise ValueError(f"duration {text!r} is not like 250ms or 1.5s")
    return float(match.group(1)) * (_UNIT_S[match.group(2)] * 1000 if match.group(2) else 1.0)


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The q-th quantile (0..1) of sorted values, linearly interpolated between closest ranks."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def red(service: str, window_s: float, samples: Iterable[tuple[float, bool, float]], source: str) -> dict[str, Any]:
    """The API's RED answer from (duration_ms, error, weight) of a service's entry spans in the window. Rate,
    errors and the request count are weighted (a span sampled with probability p stands for 1/p requests);
    percentiles are over the sampled spans' durations (sampling does not depend on latency)."""
    durations: list[float] = []
    total = errors = 0.0
    for duration, error, weight in samples:
        durations.append(duration)
        total += weight
        errors += weight if error else 0.0
    durations.sort()
    return {"service": service, "window_s": int(window_s), "rate_per_s": total / window_s,
            "error_ratio": errors / total if total else 0.0, "p50_ms": _round(percentile(durations, 0.50)),
            "p95_ms": _round(percentile(durations, 0.95)), "p99_ms": _round(percentile(durations, 0.99)),
            "requests": round(total), "source": source}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def entry_samples(rows: Iterable[dict[str, Any]], service: str, since_us: int,
                  until_us: int) -> list[tuple[float, bool, float]]:
    """(duration_ms, error, weight) of a service's SERVER/CONSUMER spans in the window, else of its root spans (for
    spans read from Tempo or Jaeger; the embedded store does this in SQL)."""
    mine = [r for r in rows if r["service"] == service and since_us <= r["start_us"] < until_us]
    entries = [r for r in mine if r["kind"] in (2, 5)] or [r for r in mine if not r["parent_span_id"]]
    return [(float(r["duration_ms"]), bool(r["error"]), float(r.get("weight", 1.0))) for r in entries]


def iso(us: int) -> str:
    """ISO 8601 UTC, always with microseconds (so that the strings sort as the times do)."""
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def summaries(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """trace id -> its list entry: root span's service and name (the earliest span when the root is missing),
    start, duration (first start to last end), error, span count, services (root's first)."""
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_trace[row["trace_id"]].append(row)
    out: dict[str, dict[str, Any]] = {}
    for trace_id, spans in by_trace.items():
        spans.sort(key=lambda r: r["start_us"])
        root = next((r for r in spans if not r["parent_span_id"]), spans[0])
        start = min(r["start_us"] for r in spans)
        end = max(r["end_us"] for r in spans)
        services = list(dict.fromkeys([root["service"], *(r["service"] for r in spans)]))
        out[trace_id] = {"trace_id": trace_id, "root_service": root["service"], "root_name": root["name"],
                         "start": iso(start), "duration_ms": round((end - start) / 1000, 3),
                         "error": any(r["error"] for r in spans), "span_count": len(spans), "services": services}
    return out


def span_view(row: dict[str, Any], redact: Callable[[str], str] | None = None) -> dict[str, Any]:
    """One span as the API shows it (attribute strings through `redact` when given)."""
    attributes = row.get("attributes") or {}
    if redact is not None:
        attributes = {k: _redacted(v, redact) for k, v in attributes.items()}
    return {"span_id": row["span_id"], "parent_span_id": row["parent_span_id"] or None,
            "service": row["service"], "name": row["name"], "kind": KINDS.get(int(row["kind"]), "unspecified"),
            "start": iso(row["start_us"]), "end": iso(row["end_us"]), "duration_ms": round(row["duration_ms"], 3),
            "status": STATUS.get(int(row["status"]), "unset"), "http_status": row["http_status"],
            "attributes": attributes}


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v, redact) for k, v in value.items()}
    return value
