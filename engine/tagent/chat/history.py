"""Answers to "explain" / "what happened last night?": the incidents of a period and their post-mortems.

A period word becomes a concrete time range in the operator's timezone ("last night" is 20:00 yesterday
to 08:00 today, never later than now), then the store is asked for the incidents opened in it. Each one is
told in a line (when, in local time with its zone; severity, rule, target, outcome and how long it took)
with its post-mortem's title and summary line when one was written, so the answer stands on its own in a
chat window. A message naming an incident id, or asking why a named workload failed, gets that one incident
explained (tagent.chat.incident).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from tagent.chat import incident as one
from tagent.chat.answers import Answer
from tagent.chat.intent import ChatIntent
from tagent.debrief.localtime import stamp, window
from tagent.model import Incident
from tagent.model.duration import parse_duration
from tagent.store import Store

NAMED = ("last-night", "this-morning", "today", "yesterday", "tonight")
DEFAULT_PERIOD = "24h"
MAX_INCIDENTS = 20


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str


def period_range(period: str | None, now: datetime, tz: tzinfo) -> Period:
    """The time range a period word names, ending no later than `now`."""
    local = now.astimezone(tz)
    today = datetime.combine(local.date(), time(0), tzinfo=tz)
    name = period or DEFAULT_PERIOD
    if name in NAMED:  # the team's words, resolved by tagent.debrief.localtime (same zone, same clock)
        named = window(name.replace("-", " "), now, tz)
        start, end, label = named.start, named.end, named.label
    elif name == "weekend":
        saturday = today - timedelta(days=(local.weekday() - 5) % 7)
        start, end, label = saturday, saturday + timedelta(days=2), "the weekend"
    else:
        try:
            seconds = parse_duration(name)
        except ValueError:
            seconds, name = parse_duration(DEFAULT_PERIOD), DEFAULT_PERIOD
        start, end, label = local - timedelta(seconds=seconds), local, f"the last {name}"
    return Period(start, min(end, local), label)


def _ts(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z").strip()


def _took(incident: Incident) -> str:
    if incident.resolved_at is None:
        return ""
    seconds = max(0.0, (incident.resolved_at - incident.opened_at).total_seconds())
    return f" after {seconds:.0f}s" if seconds < 90 else f" after {seconds / 60:.0f} min"


def _summary_line(markdown: str) -> str:
    """The first line under "What happened" (the deterministic post-mortem's first fact), else the first
    line that is not a heading or a table, without markdown emphasis."""
    lines = [ln.strip() for ln in markdown.splitlines()]
    start = next((i + 1 for i, ln in enumerate(lines) if ln.lower().lstrip("# ") == "what happened"), 0)
    for text in lines[start:]:
        if text and not text.startswith(("#", "|", "```", "---")):
            return text.lstrip("-* ").replace("**", "").replace("`", "").strip()[:200]
    return ""


def explain(store: Store, intent: ChatIntent, now: datetime, tz: tzinfo) -> Answer:
    period = period_range(intent.params.period, now, tz)
    target = intent.target
    named = target is not None and bool(target.name)
    wanted = one.named_id(intent.text)  # "explain incident 3f9a2b7c1d4e5f60": that incident
    if wanted is not None:
        if (found_one := one.find_by_id(store, wanted)) is not None:
            return one.explain_one(store, found_one, now, tz)
        if not named:
            return one.not_found(wanted)
    if named and target is not None and one.asks_why(intent.text):  # "why did X crash?": X's latest incident
        since = period.start if intent.params.period else None
        if (latest := one.latest_on(store, target.namespace, target.name, since, period.end)) is not None:
            return one.explain_one(store, latest, now, tz)
    found = [i for i in store.incidents.list(since=period.start, limit=500) if i.opened_at < period.end
             and (target is None or not target.name
                  or (i.target.namespace, i.target.name) == (target.namespace, target.name))]
    found.sort(key=lambda i: i.opened_at)
    about = f" on {target}" if target is not None and target.name else ""
    span = f"{_ts(period.start, tz)} to {_ts(period.end, tz)}"
    if not found:
        return Answer(f"No incidents{about} {period.label} ({span}).",
                      {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()}, "incidents": []})
    lines, data = [], []
    for incident in found[:MAX_INCIDENTS]:
        pm = store.postmortems.get(incident.id)
        line = (f"- {stamp(incident.opened_at, tz)} {incident.severity.value} "
                f"{incident.rule} on {incident.target.namespace}/{incident.target.name}: "
                f"{incident.status.value}{_took(incident)}")
        if pm is not None:
            line += f". Post-mortem: \"{pm.title or incident.id}\""
            if summary := _summary_line(pm.markdown):
                line += f" ({summary})"
        lines.append(line)
        data.append({"id": incident.id, "rule": incident.rule, "target": incident.target.key,
                     "severity": incident.severity.value, "status": incident.status.value,
                     "opened_at": incident.opened_at.isoformat(), "opened_local": stamp(incident.opened_at, tz),
                     "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
                     "postmortem": pm.title if pm is not None else None})
    more = f"\n({len(found) - MAX_INCIDENTS} more not shown)" if len(found) > MAX_INCIDENTS else ""
    head = f"{len(found)} incident{'s' if len(found) != 1 else ''}{about} {period.label} ({span}):"
    return Answer("\n".join([head, *lines]) + more,
                  {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()}, "incidents": data})
