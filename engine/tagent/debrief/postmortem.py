"""Deterministic post-mortems, written from an incident's timeline alone.

The facts come first and are plain code: what happened, when it broke, when it was detected, what Tagent
did (each step, its result and kubectl equivalent), when it recovered, the four durations, the rule and its
Git SHA, the evidence, and follow-ups. The LLM may add an explanation section later; it never replaces this.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from tagent.model import Incident, IncidentStatus, TimelineEntry

Redactor = Callable[[str], str]


def _stamp(at: datetime | None, tz: tzinfo = UTC) -> str:
    """'2026-11-26 07:30:03 IST': the moment in the team's zone, with the zone's abbreviation."""
    if at is None:
        return "n/a"
    local = at.astimezone(tz)
    name = local.tzname() or "UTC"
    return f"{local:%Y-%m-%d %H:%M:%S} {'UTC' if name in ('UTC', '+00') else name}"


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return "n/a"
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _first(entries: list[TimelineEntry], kind: str) -> TimelineEntry | None:
    return next((e for e in entries if e.kind == kind), None)


def broke_at(incident: Incident) -> datetime:
    """When the trouble started: the earliest observation of an evidence event, else the opening."""
    seen = [e.at for e in incident.timeline if e.kind == "event"]
    return min(seen) if seen else incident.opened_at


def durations(incident: Incident) -> dict[str, float | None]:
    """Time to detect / acknowledge / mitigate / resolve, in seconds from when it broke."""
    start = broke_at(incident)

    def since(at: datetime | None) -> float | None:
        return None if at is None else max(0.0, (at - start).total_seconds())

    return {
        "time_to_detect_s": since(incident.opened_at),
        "time_to_acknowledge_s": since(incident.acknowledged_at),
        "time_to_mitigate_s": since(incident.mitigated_at),
        "time_to_resolve_s": since(incident.resolved_at),
    }


def _steps_table(entries: list[TimelineEntry], redact: Redactor, tz: tzinfo) -> list[str]:
    steps = [e for e in entries if e.kind == "step"]
    if not steps:
        return ["Tagent ran no playbook step for this incident."]
    lines = ["| time | step | action | result | kubectl equivalent |", "|---|---|---|---|---|"]
    for e in steps:
        d = e.data
        cmd = redact(str(d.get("command") or "")).replace("|", "\\|")
        detail = redact(str(d.get("detail") or "")).replace("|", "\\|").replace("\n", " ")
        result = f"{d.get('status', '?')}" + (f": {detail}" if detail else "")
        lines.append(f"| {_stamp(e.at, tz)} | {d.get('step', '')} | `{d.get('action', '')}` | {result} | "
                     + (f"`{cmd}`" if cmd else "") + " |")
    return lines


def _follow_ups(incident: Incident) -> list[str]:
    items: list[str] = []
    if incident.status == IncidentStatus.failed:
        items.append("The automatic remediation failed: a person must look at this workload.")
    reasons = {str(e.data.get("reason", "")) for e in incident.timeline if e.kind == "event"}
    if "OOMKilled" in reasons:
        items.append("Review the memory limit and the memory profile of the workload.")
    if any(e.kind == "step" and "rollout_undo" in str(e.data.get("action", "")) for e in incident.timeline):
        items.append("Find out why the rolled-back revision failed before deploying it again.")
    if "CrashLoopBackOff" in reasons:
        items.append("Find the cause of the crash in the logs of the previous container.")
    if incident.acknowledged_at is None and incident.status == IncidentStatus.resolved:
        items.append("Nobody acknowledged this incident: check the on-call routing.")
    return items or ["None found automatically."]


def render_postmortem(incident: Incident, redact: Redactor = lambda s: s, *, tz: tzinfo = UTC,
                      trace: list[str] | None = None, home_cluster: str | None = None) -> str:
    """Markdown post-mortem of one incident. `redact` masks secrets in every free-text field; every time is
    shown in `tz` with its zone (the team's: tagent.debrief.localtime.team_timezone; UTC by default).
    `trace`: the quoted trace section (tagent.debrief.traces.quote_trace), after the evidence.
    `home_cluster`: the home cluster's name when the engine watches several (None: it watches one), so that
    a post-mortem always says in which cluster it happened."""

    def _ts(at: datetime | None) -> str:
        return _stamp(at, tz)

    tl = sorted(incident.timeline, key=lambda e: e.at)
    start = broke_at(incident)
    d = durations(incident)
    decision = _first(tl, "decision")
    fmt = {k: (f"{v:.0f} s" if v is not None else "n/a") for k, v in d.items()}
    out = [
        f"# Post-mortem: {incident.rule} on {incident.target}",
        "",
        f"- **Incident**: `{incident.id}`, severity **{incident.severity.value}**, status **{incident.status.value}**",
        f"- **Rule**: `{incident.rule}` at rules version `{incident.rules_version or 'unknown'}`",
        f"- **Target**: {incident.target.kind} `{incident.target}`",
        *([f"- **Cluster**: `{incident.target.cluster or home_cluster}`"]
          if incident.target.cluster or home_cluster else []),
        "",
        "## What happened",
        "",
    ]
    events = [e for e in tl if e.kind == "event"]
    happened: list[tuple[datetime | None, str]] = [(e.at, redact(e.summary)) for e in events[:10]] or [
        (None, "(no evidence event recorded)")]
    if decision is not None:  # in its place among the evidence, not after evidence seen later
        happened.append((decision.at, f"rule `{incident.rule}` matched: {redact(decision.summary)}"))
    out += [f"- {_ts(at)}: {text}" if at else f"- {text}"
            for at, text in sorted(happened, key=lambda h: h[0] or start)]
    out += [
        "",
        "## When",
        "",
        "| moment | time | after it broke |",
        "|---|---|---|",
        f"| broke | {_ts(start)} | 0 s |",
        f"| detected | {_ts(incident.opened_at)} | {fmt['time_to_detect_s']} |",
        f"| acknowledged | {_ts(incident.acknowledged_at)} | {fmt['time_to_acknowledge_s']} |",
        f"| mitigated | {_ts(incident.mitigated_at)} | {fmt['time_to_mitigate_s']} |",
        f"| resolved | {_ts(incident.resolved_at)} | {fmt['time_to_resolve_s']} |",
        "",
        "## What Tagent did",
        "",
        *_steps_table(tl, redact, tz),
        "",
    ]
    people = [e for e in tl if e.kind in ("notification", "call", "ack", "approval")]
    if people:
        out += ["## People", ""] + [f"- {_ts(e.at)}: {redact(e.summary)}" for e in people] + [""]
    out += ["## Evidence", ""]
    evidence = []
    for e in events:
        data = e.data
        if data.get("message"):
            evidence.append(f"- `{redact(str(data['message']))[:300]}`")
        values = data.get("values") or {}
        if values:
            evidence.append("- " + ", ".join(f"{k} = {v}" for k, v in sorted(values.items())))
    out += evidence[:20] or ["- (none recorded)"]
    if trace:
        out += ["", *trace]
    out += ["", "## Timeline", ""]
    out += [f"- {_ts(e.at)} [{e.kind}] {redact(e.summary)}" for e in tl]
    out += ["", "## Follow-ups", ""] + [f"- {item}" for item in _follow_ups(incident)]
    out += ["", f"_Time to recover: {_span(start, incident.resolved_at)}._", ""]
    return "\n".join(out)
