"""The debrief narrative: what broke, when, what Tagent did, how long users were affected, what is open.

Deterministic: built from the store (incidents with their timelines, post-mortems, the savings ledger),
in the order things happened, with exact local times ("last night at 1:32 AM IST"). Each line carries the
incident it tells and the facts (times, names) a rephrasing must keep: `rephrase` lets an LLM reword the
text and keeps the rewording only when `missing_facts` finds every time and name in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from tagent.debrief import localtime
from tagent.debrief.postmortem import broke_at, durations
from tagent.model import Incident, IncidentStatus, Severity
from tagent.store import Store

MAX_INCIDENTS = 50
STEP_WORDS = {"kubernetes.rollout_restart": "restarted it", "kubernetes.rollout_undo": "rolled it back",
              "kubernetes.scale": "scaled it", "kubernetes.delete_pod": "deleted a pod",
              "kubernetes.evict_pod": "evicted a pod", "redis.flushdb": "cleared the cache",
              "http.request": "called its purge endpoint", "kubernetes.delete_deployment": "deleted it",
              "notify.send": "told the team", "kubernetes.wait_healthy": "watched it come back healthy"}


@dataclass(frozen=True)
class Line:
    text: str
    incident_id: str | None = None
    facts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Narrative:
    lines: tuple[Line, ...]
    since: datetime
    until: datetime
    now: datetime
    timezone: str
    incidents: list[dict[str, Any]] = field(default_factory=list)
    rephrased: str | None = None

    @property
    def text(self) -> str:
        return self.rephrased or " ".join(line.text for line in self.lines)

    @property
    def facts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for line in self.lines for f in line.facts))

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "since": self.since.isoformat(), "until": self.until.isoformat(),
                "now": self.now.isoformat(), "timezone": self.timezone, "rephrased": self.rephrased is not None,
                "lines": [{"text": ln.text, "incident_id": ln.incident_id} for ln in self.lines],
                "incidents": self.incidents}


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    return f"{round(seconds / 60)} minutes" if seconds < 5400 else f"{seconds / 3600:.1f} hours"


def _reason(incident: Incident) -> str:
    """The first event reason in words (CrashLoopBackOff: crash loop back off), else the rule's name."""
    reasons = [str(e.data.get("reason") or "") for e in incident.timeline if e.kind == "event"]
    reason = next((r for r in reasons if r and "#" not in r), "")
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", reason) if reason else incident.rule
    return re.sub(r"[-_]+", " ", words).lower()


def _did(incident: Incident) -> list[str]:
    done = [STEP_WORDS.get(str(e.data.get("action")), f"ran {e.data.get('action')}") for e in incident.timeline
            if e.kind == "step" and e.data.get("status") == "ok" and e.data.get("action")]
    return list(dict.fromkeys(done))


def _joined(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def incident_line(incident: Incident, now: datetime, tz: tzinfo) -> Line:
    """One incident in a few spoken sentences, with the times and names it states."""
    start = broke_at(incident)
    name, where = incident.target.name, incident.target.namespace
    began = localtime.spoken(start, now, tz)
    text = f"{began[0].upper()}{began[1:]}, {name}" + (f" in {where}" if where else "") + \
        f" had a problem: {_reason(incident)}."
    facts = [localtime.stamp(start, tz), name]
    if any(e.kind == "approval" and "Night Mode" in e.summary for e in incident.timeline):
        text += " Nobody answered the call, so Tagent acted on its own."
    elif (by := next((e.data.get("by") for e in incident.timeline if e.kind == "ack"), None)) is not None:
        text += f" {by} acknowledged it."
    did = _did(incident)
    text += f" Tagent {_joined(did)}." if did else " Tagent did not change anything."
    healed = incident.mitigated_at or incident.resolved_at
    if incident.status == IncidentStatus.resolved and healed is not None:
        at = localtime.stamp(healed, tz)
        took = _span(max(0.0, (healed - start).total_seconds()))
        text += f" It was done at {at}, {took} later." if incident.severity == Severity.info else \
            f" It was fixed at {at}; users were affected for {took}."
        facts.append(at)
    elif incident.status == IncidentStatus.failed:
        text += " The fix did not work: it needs a person."
    else:
        text += f" It is still {incident.status.value.replace('_', ' ')}: it needs a person."
    return Line(text, incident.id, tuple(facts))


def _row(incident: Incident, tz: tzinfo, postmortem: str | None) -> dict[str, Any]:
    return {"id": incident.id, "rule": incident.rule, "target": str(incident.target),
            "namespace": incident.target.namespace, "name": incident.target.name,
            "status": incident.status.value, "severity": incident.severity.value,
            "opened_at": incident.opened_at.isoformat(), "local_time": localtime.stamp(broke_at(incident), tz),
            "postmortem": postmortem, **durations(incident)}


def build(store: Store, since: datetime, now: datetime, tz: tzinfo, *, until: datetime | None = None) -> Narrative:
    """The narrative of every incident opened from `since` (to `until`, default: no end), told at `now`."""
    end = until or now
    listed = [i for i in store.incidents.list(since=since, limit=MAX_INCIDENTS)
              if until is None or i.opened_at <= until]
    incidents = [full for i in sorted(listed, key=lambda i: i.opened_at)
                 if (full := store.incidents.get(i.id)) is not None]
    incidents.sort(key=broke_at)
    hello = localtime.greeting(now, tz)
    name = getattr(tz, "key", str(tz))
    if not incidents:
        line = Line(f"{hello}. Nothing happened since {localtime.spoken(since, now, tz)}: no incident.")
        return Narrative((line,), since, end, now, name)
    open_ones = [i for i in incidents if i.status != IncidentStatus.resolved]
    count = f"{len(incidents)} incident{'s' if len(incidents) != 1 else ''}"
    lines = [Line(f"{hello}. Since {localtime.spoken(since, now, tz)}, Tagent handled {count}.")]
    lines += [incident_line(i, now, tz) for i in incidents]
    saved = store.savings.total_replica_hours(now, since=since)
    if saved >= 0.05:
        lines.append(Line(f"Scaling idle workloads down saved {saved:.1f} replica-hours."))
    if open_ones:
        names = [i.target.name for i in open_ones]
        lines.append(Line(f"{len(open_ones)} still {'needs' if len(open_ones) == 1 else 'need'} you: "
                          f"{_joined(list(dict.fromkeys(names)))}.", None, tuple(names)))
    else:
        lines.append(Line("Everything is resolved; nothing needs you."))
    postmortems = {i.id: pm.title if (pm := store.postmortems.get(i.id)) else None for i in incidents}
    rows = [_row(i, tz, postmortems[i.id]) for i in incidents]
    return Narrative(tuple(lines), since, end, now, name, rows)


def missing_facts(text: str, facts: tuple[str, ...]) -> list[str]:
    """The facts (times, names) not found in `text`, compared without case and extra spaces."""
    flat = re.sub(r"\s+", " ", text).lower()
    return [f for f in facts if re.sub(r"\s+", " ", f).lower() not in flat]


def rephrase(narrative: Narrative, reword: Callable[[str], str] | None) -> tuple[Narrative, list[str]]:
    """The narrative reworded by `reword` (the LLM) when every fact survives; else unchanged, with the
    facts the rewording lost (or the error it raised) as the second value."""
    if reword is None:
        return narrative, []
    try:
        candidate = reword(narrative.text).strip()
    except Exception as exc:  # noqa: BLE001 - an LLM failure never costs the debrief
        return narrative, [f"rephrasing failed: {exc}"]
    lost = missing_facts(candidate, narrative.facts) if candidate else ["(empty rephrasing)"]
    if lost:
        return narrative, lost
    return Narrative(narrative.lines, narrative.since, narrative.until, narrative.now, narrative.timezone,
                     narrative.incidents, candidate), []


REWORD_PROMPT = ("Reword this morning debrief so it sounds like a calm colleague speaking. Keep every time "
                 "(with its zone) and every service name exactly as written, keep the order, add no fact. "
                 "Answer with the reworded text only.")


def llm_reword(client: Any) -> Callable[[str], str]:
    """A `reword` function over a tagent.llm.client.LLMClient (checked by `rephrase` before it is used)."""
    from tagent.llm.client import ChatMessage

    def reword(text: str) -> str:
        done = client.complete([ChatMessage("system", REWORD_PROMPT), ChatMessage("user", text)],
                               purpose="debrief", max_tokens=900)
        return str(done.text)

    return reword
