"""The AI explanation of an incident: a marked section beside the deterministic post-mortem.

The facts of the post-mortem are plain code (debrief/postmortem.py); this only adds words: likely
cause, evidence, what was done, what to change, under a heading that names the model and says it may
be wrong. Without an LLM the section says so and the post-mortem stands alone; when the LLM fails the
section says why (the failure is shown, not hidden). The model's output is only ever text here: it is
sanitised as Markdown (headings demoted under ours, HTML escaped, length capped) and nothing in it is
executed or parsed for actions.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

from tagent.errors import ExternalError
from tagent.llm.client import LLMClient, UsageRecord
from tagent.llm.prompts import DataBlock, build_messages
from tagent.model.core import Incident

log = logging.getLogger(__name__)
MAX_ANSWER_CHARS = 6000
ROLE = ("You are an experienced Site Reliability Engineer writing the explanation part of a post-mortem for "
        "a Kubernetes incident. Be concise and concrete; say when the evidence is not enough.")
TASK = ("Explain this incident for the post-mortem. Answer in Markdown with exactly these four level-3 "
        "headings: '### Likely cause', '### Evidence', '### What was done', '### What to change'. Base every "
        "statement on the data blocks below and quote the lines you rely on. Facts recorded by Tagent are in "
        "the 'incident' block; cluster data is in the other blocks.")


@dataclass(frozen=True)
class Evidence:
    """What the cluster said about the incident (untrusted text)."""

    logs: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_incident(cls, incident: Incident, logs: list[str] | None = None,
                      annotations: dict[str, str] | None = None) -> Evidence:
        """Events and metric values as recorded on the incident's timeline, plus any logs/annotations."""
        events, metrics = [], {}
        for entry in incident.timeline:
            if entry.kind != "event":
                continue
            message = str(entry.data.get("message") or "")
            events.append(entry.summary + (f": {message}" if message and message not in entry.summary else ""))
            for name, value in (entry.data.get("values") or {}).items():
                metrics[str(name)] = float(value)
        return cls(logs=list(logs or []), events=events, annotations=dict(annotations or {}), metrics=metrics)


@dataclass(frozen=True)
class Explanation:
    markdown: str  # the whole section, heading included
    model: str | None  # None: no LLM configured
    usage: UsageRecord | None = None
    error: str = ""  # why there is no explanation, when the LLM failed

    @property
    def generated(self) -> bool:
        return self.usage is not None and not self.error


def heading(model: str | None) -> str:
    return f"## AI explanation (written by {model}, may be wrong)" if model else "## AI explanation"


def incident_facts(incident: Incident) -> str:
    """Tagent's own record, in time order: rule, target, status, and each timeline entry's summary."""
    lines = [f"rule: {incident.rule} (rules version {incident.rules_version or 'unknown'})",
             f"target: {incident.target.kind} {incident.target}", f"severity: {incident.severity.value}",
             f"status: {incident.status.value}", f"opened: {incident.opened_at.isoformat()}"]
    for e in sorted(incident.timeline, key=lambda e: e.at):
        status = f" [{e.data['status']}]" if "status" in e.data else ""
        lines.append(f"{e.at.isoformat()} {e.kind}{status}: {e.summary}")
    return "\n".join(lines)


def sanitize_markdown(text: str) -> str:
    """Model text made safe to embed under our heading: no HTML, no heading above level 3, capped."""
    text = html.escape(text.strip(), quote=False)
    text = re.sub(r"(?m)^\s{0,3}#{1,2}(?=\s)", "###", text)
    if len(text) > MAX_ANSWER_CHARS:
        text = text[:MAX_ANSWER_CHARS] + "\n\n_(explanation cut)_"
    return text


def explain_incident(incident: Incident, evidence: Evidence, client: LLMClient | None = None) -> Explanation:
    """The explanation section for `incident`; `client=None` means no LLM is configured."""
    if client is None:
        return Explanation(markdown=f"{heading(None)}\n\nNo LLM is configured (set `llm_base_url` or "
                           "`llm_api_key`), so there is no AI explanation. The facts above are the complete "
                           "record.\n", model=None)
    blocks = [
        DataBlock("incident", incident_facts(incident)),
        DataBlock("events", "\n".join(evidence.events)),
        DataBlock("logs", "\n".join(evidence.logs)),
        DataBlock("annotations", "\n".join(f"{k}: {v}" for k, v in sorted(evidence.annotations.items()))),
        DataBlock("metrics", "\n".join(f"{k} = {v:g}" for k, v in sorted(evidence.metrics.items()))),
    ]
    try:
        answer = client.complete(build_messages(ROLE, TASK, blocks), purpose="explain", incident_id=incident.id)
    except ExternalError as exc:
        log.warning("no AI explanation for incident %s: %s", incident.id, exc)
        return Explanation(markdown=f"{heading(client.model)}\n\nThe explanation could not be written: {exc}\n",
                           model=client.model, error=str(exc))
    body = sanitize_markdown(answer.text) or "_(the model returned no text)_"
    return Explanation(markdown=f"{heading(answer.model)}\n\n{body}\n", model=answer.model, usage=answer.usage)
