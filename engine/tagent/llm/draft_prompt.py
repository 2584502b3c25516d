"""The words of a playbook draft request: what the model is told, and how its answer is read.

Kept apart from the flow (llm/draft.py) so the prompt can be read, reviewed and tuned in one place.
The format summary follows shared/design/RULES.md; the allowed actions and the names already in use are
given by the caller (policy knows them), so the prompt never drifts from the real catalog.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from tagent.llm.client import ChatMessage
from tagent.llm.explain import incident_facts
from tagent.llm.prompts import DataBlock, build_messages, quote_data
from tagent.model.core import Incident

ROLE = ("You are an experienced Site Reliability Engineer who writes Tagent automation for Kubernetes: a Rule "
        "that detects a problem and the Playbook of catalog actions that fixes it. Your draft is only a "
        "proposal: it is validated by a program and reviewed by a person before it can ever run.")
FORMAT = """Answer with one JSON object and nothing else:
{"title": "<one line for the pull request>", "rationale": "<why this rule and playbook, citing the evidence>",
 "rule": <the Rule document>, "playbook": <the Playbook document, or null when the rule uses an existing one>}

Every document has apiVersion "tagent.io/v1", kind, metadata {name: a new lower-case DNS-1123 name}, spec.
Unknown fields are errors. Durations are strings like "30s", "5m", "1h".
Rule spec: description; severity info|warning|critical; match {namespaces: [..], selector: {label: value}}
(optional); when: exactly one of
  kubernetes {reason: <Event or pod state reason, e.g. CrashLoopBackOff, OOMKilled>},
  metrics {name: cpu_utilization|memory_utilization|restarts|request_rate|error_rate|latency_p99, op, value, for},
  prometheus {query: <PromQL>, op, value, for}, logs {pattern: <regex>, count: ">10", window: "1m"},
  alert {alertname}, or all: [<two or more of those>] with within: <duration>;
then {playbook: <playbook name>, params: {..}}; mode auto|approve|notify (prefer approve for a new rule);
cooldown.
Playbook spec: description; params {name: {type: string|integer|number|boolean, default, minimum, maximum}};
steps: [{name, action, with: {param: value}, timeout}]; on_failure: [{action, with}].
Values may be Jinja templates over event, target (namespace, name, kind), rule and params, e.g.
"{{ target.namespace }}". Only the actions listed below exist; their parameters are listed with them."""
TASK = ("Draft a Rule and, when no existing playbook fits, a Playbook that would detect this incident's problem "
        "early next time and remediate it safely. Use only the listed actions, choose names that are not in use, "
        "and base the rule's condition on the evidence in the data blocks.")
RETRY = ("Your draft failed validation. The problems (one 'file:line: message' each) are in the data block "
         "below. Answer again with the complete corrected JSON object, in the same format.")
NO_DRAFT = "the answer holds no draft: expected a JSON object with `rule` (and `playbook`) or a ```yaml block"
MAX_TITLE = 100
_FENCE = re.compile(r"```(?P<lang>[A-Za-z]*)[ \t]*\n(?P<body>.*?)\n?```", re.S)


@dataclass(frozen=True)
class DraftContext:
    """What the rules repository allows: the action catalog as text, names in use, an example."""

    catalog: str
    rules: Sequence[str] = ()
    playbooks: Sequence[str] = ()
    example: str = ""


@dataclass(frozen=True)
class ParsedDraft:
    yaml_text: str  # "" when the answer held no draft
    title: str
    rationale: str
    problems: tuple[str, ...] = ()


def draft_messages(incident: Incident, evidence_blocks: Sequence[DataBlock], context: DraftContext,
                   fence_id: str) -> list[ChatMessage]:
    """System + user message: the task and format, the catalog and names (ours), then the fenced data."""
    names = (f"Rule names in use: {', '.join(sorted(context.rules)) or 'none'}.\n"
             f"Playbook names in use (a rule may use one of these): {', '.join(sorted(context.playbooks)) or 'none'}.")
    example = f"\n\nA valid rule and playbook from this repository, for style:\n{context.example}" \
        if context.example else ""
    task = f"{TASK}\n\n{FORMAT}\n\nAllowed actions:\n{context.catalog}\n\n{names}{example}"
    blocks = [DataBlock("incident", incident_facts(incident)), *evidence_blocks]
    return build_messages(ROLE, task, blocks, fence_id=fence_id)


def retry_messages(previous: Sequence[ChatMessage], answer: str, problems: Sequence[str],
                   fence_id: str) -> list[ChatMessage]:
    """The conversation so far, the model's answer, and the validation problems quoted as data (they may
    echo text that came from the cluster through the draft)."""
    block = quote_data(DataBlock("validation_problems", "\n".join(problems)), fence_id)
    return [*previous, ChatMessage("assistant", answer), ChatMessage("user", f"{RETRY}\n\n{block}")]


def _one_line(text: Any, limit: int) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_answer(text: str) -> ParsedDraft:
    """The draft YAML in an answer: a JSON object (JSON mode, possibly in a ```json fence), else ```yaml
    blocks. The result is text only; the caller's validator decides whether it is a valid draft."""
    stripped = text.strip()
    fenced = _FENCE.search(stripped)
    candidate = fenced["body"] if fenced and fenced["lang"].lower() in ("json", "") else stripped
    try:
        data = json.loads(candidate)
    except ValueError:
        data = None
    if isinstance(data, dict):
        title, rationale = _one_line(data.get("title"), MAX_TITLE), str(data.get("rationale") or "").strip()
        if isinstance(data.get("yaml"), str):
            return ParsedDraft(data["yaml"], title, rationale)
        docs = [d for d in (data.get("rule"), data.get("playbook")) if d is not None]
        if isinstance(data.get("documents"), list):
            docs += data["documents"]
        if not docs:
            return ParsedDraft("", title, rationale, (NO_DRAFT,))
        return ParsedDraft(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True), title, rationale)
    yaml_blocks = [m["body"] for m in _FENCE.finditer(stripped) if m["lang"].lower() in ("yaml", "yml")]
    if yaml_blocks:
        prose = _FENCE.sub("", stripped).strip()
        return ParsedDraft("\n---\n".join(yaml_blocks), "", prose)
    return ParsedDraft("", "", "", (NO_DRAFT,))
