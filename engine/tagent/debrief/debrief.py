"""The morning debrief: the night's incidents in a few spoken sentences, optionally as a WAV file.

Written to be heard, not read: no tables, no IDs, times as "2:04", durations rounded. It is built from the
incidents and post-mortems in the store (the facts), never from an LLM. `speak` turns it into audio with
espeak-ng (Debian package `espeak-ng`), `export_postmortems` writes the post-mortems as Markdown files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tagent.debrief.postmortem import durations
from tagent.errors import ConfigError, ExternalError
from tagent.model import Incident, IncidentStatus, Severity
from tagent.store import Store

STEP_WORDS = {"kubernetes.rollout_restart": "restarted it", "kubernetes.rollout_undo": "rolled it back",
              "kubernetes.scale": "scaled it", "kubernetes.delete_pod": "deleted a pod",
              "kubernetes.evict_pod": "evicted a pod", "redis.flushdb": "cleared the cache",
              "http.request": "called its purge endpoint", "kubernetes.delete_deployment": "deleted it"}


@dataclass(frozen=True)
class Debrief:
    text: str
    since: datetime
    until: datetime
    incidents: list[dict[str, Any]] = field(default_factory=list)


def _clock(at: datetime, tz: ZoneInfo) -> str:
    local = at.astimezone(tz)
    return f"{local.hour}:{local.minute:02d}"


def _spoken_span(seconds: float | None) -> str:
    if seconds is None:
        return "an unknown time"
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.1f} hours"


def _what_tagent_did(incident: Incident) -> str:
    done = [STEP_WORDS[e.data["action"]] for e in incident.timeline
            if e.kind == "step" and e.data.get("status") == "ok" and e.data.get("action") in STEP_WORDS]
    unique = list(dict.fromkeys(done))
    if not unique:
        return "Tagent did not change anything"
    return "Tagent " + (" and ".join(unique) if len(unique) < 3 else ", ".join(unique[:-1]) + " and " + unique[-1])


def _reason(incident: Incident) -> str:
    reasons = [str(e.data.get("reason") or "") for e in incident.timeline if e.kind == "event"]
    reason = next((r for r in reasons if r and "#" not in r), "")
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", reason).lower() if reason else incident.rule.replace("-", " ")
    return words


def sentence(incident: Incident, tz: ZoneInfo) -> str:
    where = f"{incident.target.name} in {incident.target.namespace}" if incident.target.namespace \
        else incident.target.name
    opening = f"At {_clock(incident.opened_at, tz)}, {where} had a problem: {_reason(incident)}."
    night = any(e.kind == "approval" and "Night Mode" in e.summary for e in incident.timeline)
    acked = next((e.data.get("by") for e in incident.timeline if e.kind == "ack"), None)
    people = (" Nobody answered the call, so Tagent acted on its own." if night
              else f" {acked} acknowledged it." if acked else "")
    d = durations(incident)
    if incident.status == IncidentStatus.resolved:
        end = f" {_what_tagent_did(incident)}, and it recovered after {_spoken_span(d['time_to_resolve_s'])}."
    elif incident.status == IncidentStatus.failed:
        end = f" {_what_tagent_did(incident)}, but the fix did not work. It needs a person."
    else:
        end = f" It is still {incident.status.value.replace('_', ' ')}. It needs a person."
    return opening + people + end


def night_debrief(store: Store, since: datetime, until: datetime, *, timezone: str = "UTC") -> Debrief:
    """The debrief of every incident opened between `since` and `until`."""
    tz = ZoneInfo(timezone)
    listed = [i for i in store.incidents.list(since=since, limit=500) if i.opened_at <= until]
    incidents = [full for i in sorted(listed, key=lambda i: i.opened_at)
                 if (full := store.incidents.get(i.id)) is not None]
    span = f"since {_clock(since, tz)}"
    if not incidents:
        text = f"Good morning. Nothing happened {span}: no incident."
        return Debrief(text, since, until)
    resolved = sum(1 for i in incidents if i.status == IncidentStatus.resolved)
    critical = sum(1 for i in incidents if i.severity == Severity.critical)
    count = f"{len(incidents)} incident" + ("s" if len(incidents) != 1 else "")
    lines = [f"Good morning. {span.capitalize()}, Tagent handled {count}"
             + (f", {critical} of them critical" if critical else "")
             + f". {resolved} {'is' if resolved == 1 else 'are'} resolved."]
    lines += [sentence(i, tz) for i in incidents]
    open_ones = [i for i in incidents if i.status != IncidentStatus.resolved]
    lines.append("Nothing needs you this morning." if not open_ones else
                 f"{len(open_ones)} {'needs' if len(open_ones) == 1 else 'need'} your attention.")
    data = [{"id": i.id, "rule": i.rule, "target": str(i.target), "status": i.status.value,
             "severity": i.severity.value, "opened_at": i.opened_at.isoformat(), **durations(i)} for i in incidents]
    return Debrief(" ".join(lines), since, until, data)


def speak(text: str, path: Path, *, binary: str = "espeak-ng", speed: int = 160, timeout: float = 60.0) -> Path:
    """Write `text` as a WAV file with espeak-ng. ConfigError when it is not installed."""
    found = shutil.which(binary)
    if found is None:
        raise ConfigError(f"{binary} is not installed (Debian package espeak-ng); cannot write {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run([found, "-s", str(speed), "-w", str(path), "--stdin"], input=text.encode(),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ExternalError(f"{binary} did not finish within {timeout:g}s") from exc
    if done.returncode != 0 or not path.exists():
        err = done.stderr.decode(errors="replace").strip().splitlines()
        raise ExternalError(f"{binary} failed ({done.returncode}): {err[-1] if err else 'no output'}")
    return path


def export_postmortems(store: Store, directory: Path, *, since: datetime | None = None) -> list[Path]:
    """Every stored post-mortem (created since `since`) as `<date>-<rule>-<incident>.md` under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for record in store.postmortems.search(limit=10_000):
        if since is not None and record.created_at < since:
            continue
        incident = store.incidents.get(record.incident_id, timeline=False)
        rule = re.sub(r"[^a-z0-9-]+", "-", incident.rule.lower()) if incident else "incident"
        path = directory / f"{record.created_at:%Y-%m-%d}-{rule}-{record.incident_id}.md"
        path.write_text(record.markdown, encoding="utf-8")
        written.append(path)
    return written
