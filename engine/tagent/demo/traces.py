"""The demo's traces: the sandbox's services send real OTLP spans to the demo engine's /v1/traces, and the
summary tells what they showed without any Prometheus: RED per shop service, and for each error spike the
error ratio of its service before the fault, while its incident was open, and after the fix (the rollback).

Times are the sandbox's (the engine runs on its clock, and the spans carry it too).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tagent.debrief.traces import incident_traces
from tagent.demo.summary import Played
from tagent.model import Incident
from tagent.traces.service import Traces

WINDOW_S = 900.0  # the dashboard's default RED window
COMPARE = timedelta(minutes=10)  # before the fault, after the fix
SPIKES = ("error-spike", "bad-deploy")


def otlp_endpoint(api_url: str) -> str:
    return f"{api_url}/v1/traces"


def services_red(traces: Traces, services: list[str], now: datetime) -> dict[str, dict[str, Any]]:
    """RED of each service over the last WINDOW_S (what the Services page shows first)."""
    out = {}
    for service in services:
        red = traces.red(service, WINDOW_S, at=now)
        out[service] = {k: red[k] for k in ("requests", "rate_per_s", "error_ratio", "p50_ms", "p99_ms", "source")}
    return out


def _ratio(traces: Traces, service: str, start: datetime, end: datetime) -> float | None:
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return None
    red = traces.red(service, seconds, at=end)
    return round(float(red["error_ratio"]), 4) if red["requests"] else None


def spike(traces: Traces, played: Played, incident: Incident | None, now: datetime) -> dict[str, Any]:
    """The error ratio of the scene's service before the fault, during its incident and after the fix, and how
    many of the incident's traces had errors (the incident page lists them first)."""
    service = f"{played.scene.namespace}/{played.scene.name}"
    at = played.injected_at
    row: dict[str, Any] = {"service": service, "fault": played.scene.fault, "incident": None,
                           "error_ratio_before": _ratio(traces, service, at - COMPARE, at),
                           "error_ratio_during": None, "error_ratio_after": None, "error_traces": 0}
    if incident is None:
        return row
    row["incident"] = incident.id
    fixed = incident.resolved_at
    row["error_ratio_during"] = _ratio(traces, service, at, fixed or now)
    if fixed is not None:
        row["error_ratio_after"] = _ratio(traces, service, fixed, min(now, fixed + COMPARE))
    listed = incident_traces(traces, incident, now, limit=50)["traces"]
    row["error_traces"] = sum(1 for t in listed if t["error"])
    return row


def traces_summary(traces: Traces, played: list[Played], incidents: list[Incident], services: list[str],
                   now: datetime) -> dict[str, Any]:
    traces.flush(10.0)
    spikes = []
    for p in played:
        if p.scene.fault not in SPIKES:
            continue
        mine = sorted((i for i in incidents if i.target.namespace == p.scene.namespace
                       and i.target.name == p.scene.name and i.rule in p.scene.rules and i.opened_at >= p.injected_at),
                      key=lambda i: i.opened_at)
        spikes.append(spike(traces, p, mine[0] if mine else None, now))
    return {"services": services_red(traces, services, now), "spikes": spikes}
