"""An incident's traces: those of its service in its window, errors first, and the post-mortem's quote of one.

The window is [opened (or the first evidence, if earlier) - 10 min, resolved, or now while it is open]: the
requests that led up to the incident and those it hurt. The quote is plain Markdown (times in the team's
zone, span names through the post-mortem's redactor); with no trace, or no trace store, it says that none
was recorded, so a reader knows it was looked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

from tagent.model import Incident

log = logging.getLogger("tagent.debrief")
BEFORE = timedelta(minutes=10)
MAX_QUOTED_SPANS = 15
CANDIDATES = 10  # error traces looked at for one where the service itself answered 5xx


class TraceSource(Protocol):
    """What is read of the trace facade (tagent.traces.Traces)."""

    def traces(self, *, service: str | None = None, since: datetime | None = None, until: datetime | None = None,
               limit: int = 20, errors: bool = False, min_duration_ms: float | None = None,
               order: str = "recent") -> list[dict[str, Any]]: ...

    def trace(self, trace_id: str) -> dict[str, Any] | None: ...


def service_of(incident: Incident) -> str:
    return f"{incident.target.namespace}/{incident.target.name}"


def incident_window(incident: Incident, now: datetime) -> tuple[datetime, datetime]:
    seen = [e.at for e in incident.timeline if e.kind == "event"]
    since = min([incident.opened_at, *seen]) - BEFORE
    until = incident.resolved_at or now
    return since, max(until, since + timedelta(seconds=1))


def incident_traces(source: TraceSource, incident: Incident, now: datetime, *, limit: int = 20) -> dict[str, Any]:
    """{service, since, until, traces}: the traces with an error first, then the others, each newest first."""
    since, until = incident_window(incident, now)
    service = service_of(incident)
    failing = source.traces(service=service, since=since, until=until, limit=limit, errors=True)
    rest = [t for t in source.traces(service=service, since=since, until=until, limit=limit) if not t["error"]]
    return {"service": service, "since": _iso(since), "until": _iso(until), "traces": (failing + rest)[:limit]}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(value: Any) -> datetime:
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _stamp(at: datetime, tz: tzinfo) -> str:
    local = at.astimezone(tz)
    name = local.tzname() or "UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {'UTC' if name in ('UTC', '+00') else name}"


def quote_trace(source: TraceSource | None, incident: Incident, now: datetime, *, tz: tzinfo = UTC,
                redact: Callable[[str], str] = lambda s: s) -> list[str]:
    """The post-mortem's "A trace" section: the first trace of `incident_traces` with its spans, or why none."""
    out = ["## A trace from the incident", ""]
    since, until = incident_window(incident, now)
    window = f"between {_stamp(since, tz)} and {_stamp(until, tz)}"
    if source is None:
        return [*out, f"No trace was recorded: this engine receives no spans ({service_of(incident)}, {window}).",
                ""]
    try:
        picked = _pick(source, incident, now)
    except Exception as exc:  # noqa: BLE001 - a trace store that fails must not cost the post-mortem
        log.warning("no trace for the post-mortem of %s: %s", incident.id, exc)
        return [*out, f"No trace could be read for {service_of(incident)} {window}: {redact(str(exc))[:200]}.", ""]
    if picked is None:
        return [*out, f"No trace of {service_of(incident)} was recorded {window}.", ""]
    return out + _quoted(picked[0], picked[1], tz, redact)


def _pick(source: TraceSource, incident: Incident, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The newest trace in which the service itself failed with a 5xx, else the newest with an error (a 404
    a client counted as an error is rarely the incident), else the newest; with its spans."""
    listed = incident_traces(source, incident, now, limit=CANDIDATES)["traces"]
    service = service_of(incident)
    fallback = None
    for summary in [t for t in listed if t["error"]] or listed[:1]:
        trace = source.trace(summary["trace_id"])
        spans = (trace or {}).get("spans") or []
        if not spans:
            continue
        if any(s["service"] == service and s.get("status") == "error" and int(s.get("http_status") or 0) >= 500
               for s in spans):
            return summary, spans
        fallback = fallback or (summary, spans)
    return fallback


def _quoted(summary: dict[str, Any], spans: list[dict[str, Any]], tz: tzinfo,
            redact: Callable[[str], str]) -> list[str]:
    spans = sorted(spans, key=lambda s: _parse(s["start"]))
    origin = _parse(spans[0]["start"])
    services = list(dict.fromkeys(s["service"] for s in spans))
    failed = [s for s in spans if s.get("status") == "error"]
    line = (f"Trace `{summary['trace_id']}`, started {_stamp(origin, tz)}, took {float(summary['duration_ms']):.1f} ms "
            f"across {len(services)} services ({' → '.join(services)})")
    if failed:  # where the error started: a failed span none of whose children failed
        callers = {s.get("parent_span_id") for s in failed}
        cause = next((s for s in failed if s["span_id"] not in callers), failed[0])
        status = f", HTTP {cause['http_status']}" if cause.get("http_status") else ""
        line += (f"; {len(failed)} of its {len(spans)} spans failed, starting in {cause['service']} "
                 f"`{redact(str(cause['name']))}`{status}.")
    else:
        line += f"; none of its {len(spans)} spans failed (no error trace was recorded in the window)."
    rows = ["| start | service | span | duration | status |", "|---|---|---|---|---|"]
    for s in spans[:MAX_QUOTED_SPANS]:
        offset = (_parse(s["start"]) - origin).total_seconds() * 1000
        name = redact(str(s["name"])).replace("|", "\\|")
        status = str(s.get("status") or "unset") + (f" ({s['http_status']})" if s.get("http_status") else "")
        rows.append(f"| +{offset:.1f} ms | {s['service']} | `{name}` | {float(s['duration_ms']):.1f} ms | {status} |")
    if len(spans) > MAX_QUOTED_SPANS:
        rows.append(f"| | | … {len(spans) - MAX_QUOTED_SPANS} more spans | | |")
    return [line, "", *rows, ""]
