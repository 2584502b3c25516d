"""One incident explained in chat: "explain incident 3f9a2b7c1d4e5f60", "why did payment-service crash?".

Which incident: the id the message names (16 hex digits, or a prefix of 8 or more the store knows), else the
latest incident on the workload the message names (within the period when one is said). The answer is
grounded the way the debrief's questions are (tagent.debrief.ask): every sentence comes from the incident,
its timeline and its post-mortem title, every time is the team's local time with its zone, and `citations`
names each timeline entry used (incident id, position in the time-sorted timeline, time, kind, summary).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from tagent.chat.answers import Answer
from tagent.debrief import localtime
from tagent.debrief.ask import Citation
from tagent.debrief.narrative import incident_line
from tagent.debrief.postmortem import broke_at
from tagent.model import Incident, TimelineEntry, WorkloadRef
from tagent.store import Store

_ID = re.compile(r"\b(?:inc[-_])?([0-9a-f]{8,32})\b", re.IGNORECASE)
_WHY = re.compile(r"\b(why|cause[ds]?|reason|root|crash\w*|fail\w*|broke|broken|die[ds]?|kyun|kyon)\b",
                  re.IGNORECASE)
MAX_EVIDENCE, MAX_STEPS = 4, 6


def named_id(text: str) -> str | None:
    """The incident id a message names (lower case, without an `inc-` prefix), if any."""
    match = _ID.search(text)
    return match.group(1).lower() if match else None


def asks_why(text: str) -> bool:
    return _WHY.search(text) is not None


def find_by_id(store: Store, incident_id: str) -> Incident | None:
    """The incident with this id, or the one incident whose id starts with it (8+ hex digits)."""
    found = store.incidents.get(incident_id)
    if found is not None or len(incident_id) >= 16:
        return found
    matches = [i for i in store.incidents.list(limit=500) if i.id.startswith(incident_id)]
    return store.incidents.get(matches[0].id) if len(matches) == 1 else None


def latest_on(store: Store, namespace: str, name: str, start: datetime | None, end: datetime) -> Incident | None:
    """The newest incident on one workload (any kind) opened in [start, end], with its timeline."""
    listed = [i for i in store.incidents.list(since=start, limit=500)
              if (i.target.namespace, i.target.name) == (namespace, name) and i.opened_at <= end]
    return store.incidents.get(listed[0].id) if listed else None  # the store lists newest first


def explain_one(store: Store, incident: Incident, now: datetime, tz: tzinfo) -> Answer:
    """The incident told from its own record: what broke and when, the evidence, Tagent's steps, the outcome."""
    timeline = sorted(incident.timeline, key=lambda e: e.at)
    cites: list[Citation] = []

    def cite(n: int) -> str:
        e = timeline[n]
        cites.append(Citation(incident.id, n, e.at.isoformat(), e.kind, e.summary[:200], localtime.stamp(e.at, tz)))
        return f"[{len(cites)}]"

    firsts: dict[str, int] = {}  # the first entry of each distinct reason, then the rule's decision
    for n, e in enumerate(timeline):
        if e.kind in ("event", "decision"):
            firsts.setdefault(str(e.data.get("reason") or e.kind), n)
    evidence = [f"{localtime.stamp(timeline[n].at, tz)}: {_told(timeline[n])} {cite(n)}"
                for n in sorted(firsts.values())[:MAX_EVIDENCE]]
    steps = [f"at {localtime.stamp(timeline[n].at, tz)} {timeline[n].data.get('action') or timeline[n].summary} "
             f"({timeline[n].data.get('status', '?')}) {cite(n)}"
             for n in [n for n, e in enumerate(timeline) if e.kind == "step"][:MAX_STEPS]]
    head = f"Incident {incident.id} ({incident.severity.value}, {incident.rule} on {incident.target}, " \
           f"{incident.status.value}): {incident_line(incident, now, tz).text}"
    parts = [head]
    parts.append("What the evidence says: " + "; ".join(evidence) + "." if evidence else
                 "No evidence was recorded in its timeline.")
    if steps:
        parts.append("What Tagent did: " + "; ".join(steps) + ".")
    pm = store.postmortems.get(incident.id)
    if pm is not None:
        parts.append(f"Post-mortem: \"{pm.title or incident.id}\".")
    if not cites:
        cites.append(Citation(incident.id, -1, broke_at(incident).isoformat(), "incident",
                              f"{incident.rule} on {incident.target}", localtime.stamp(broke_at(incident), tz)))
    return Answer("\n".join(parts), {"incident": _row(incident, tz, pm.title if pm else None),
                                     "incidents": [_row(incident, tz, pm.title if pm else None)],
                                     "citations": [c.as_dict() for c in cites]})


def not_found(incident_id: str) -> Answer:
    return Answer(f"There is no incident {incident_id} in the store. \"what happened today?\" lists the "
                  "recent ones with their ids.", {"incident": None, "incidents": [], "citations": []})


def _told(e: TimelineEntry) -> str:
    return str(e.data.get("message") or e.summary)[:200]


def _row(incident: Incident, tz: tzinfo, postmortem: str | None) -> dict[str, object]:
    target: WorkloadRef = incident.target
    return {"id": incident.id, "rule": incident.rule, "target": target.key, "severity": incident.severity.value,
            "status": incident.status.value, "opened_at": incident.opened_at.isoformat(),
            "broke_local": localtime.stamp(broke_at(incident), tz),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "postmortem": postmortem}
