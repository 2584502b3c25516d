"""Draft a Rule + Playbook from an incident: text in, YAML text out, checked by the caller's validator.

The model sees the incident (Tagent's facts and the cluster's evidence, quoted as untrusted data and
redacted by the client), the closed action catalog and the names in use, and answers with the two
documents (JSON mode; a ```yaml block is accepted from servers without it). Its output is only ever YAML
text handed to `validate` (tagent.policy supplies the same check as `tagent validate`, run together with
the active rule set). A draft with problems is sent back once with them; if it still fails, the draft
is returned with its problems and the caller reports it. Nothing here applies, commits or pushes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tagent.llm.client import LLMClient, UsageRecord
from tagent.llm.draft_prompt import DraftContext, draft_messages, parse_answer, retry_messages
from tagent.llm.explain import Evidence, sanitize_markdown
from tagent.llm.prompts import DataBlock, new_fence_id
from tagent.model.core import Incident

log = logging.getLogger(__name__)
Validator = Callable[[str], Sequence[str]]
"""YAML text -> its problems (`path:line: message`); empty when the draft is valid."""
MAX_TOKENS = 1800


@dataclass(frozen=True)
class Attempt:
    answer: str  # what the model said (already redacted by the client)
    yaml_text: str
    problems: tuple[str, ...]
    usage: UsageRecord


@dataclass(frozen=True)
class PlaybookDraft:
    incident_id: str
    yaml_text: str  # the last attempt's YAML
    title: str
    rationale: str  # sanitised Markdown: model text, for a human reviewer only
    model: str
    attempts: tuple[Attempt, ...]

    @property
    def ok(self) -> bool:
        return bool(self.attempts) and not self.attempts[-1].problems

    @property
    def problems(self) -> tuple[str, ...]:
        return self.attempts[-1].problems if self.attempts else ()


def evidence_blocks(evidence: Evidence) -> list[DataBlock]:
    return [
        DataBlock("events", "\n".join(evidence.events)),
        DataBlock("logs", "\n".join(evidence.logs)),
        DataBlock("annotations", "\n".join(f"{k}: {v}" for k, v in sorted(evidence.annotations.items()))),
        DataBlock("metrics", "\n".join(f"{k} = {v:g}" for k, v in sorted(evidence.metrics.items()))),
    ]


def draft_playbook(incident: Incident, evidence: Evidence, client: LLMClient, context: DraftContext,
                   validate: Validator, *, max_attempts: int = 2) -> PlaybookDraft:
    """Ask for a draft, validate it, retry with the problems (at most `max_attempts` calls in all).

    Raises tagent.errors.ExternalError when the LLM cannot be used (unreachable, refused, over budget)."""
    fence = new_fence_id()
    messages = draft_messages(incident, evidence_blocks(evidence), context, fence)
    attempts: list[Attempt] = []
    title = rationale = ""
    for number in range(1, max(1, max_attempts) + 1):
        completion = client.complete(messages, purpose="draft", incident_id=incident.id, max_tokens=MAX_TOKENS,
                                     json_mode=True)
        parsed = parse_answer(completion.text)
        problems = tuple(parsed.problems) or tuple(validate(parsed.yaml_text))
        attempts.append(Attempt(completion.text, parsed.yaml_text, problems, completion.usage))
        title, rationale = parsed.title or title, parsed.rationale or rationale
        if not problems:
            break
        log.info("draft %d for incident %s has %d problem(s): %s", number, incident.id, len(problems), problems[0])
        messages = retry_messages(messages, completion.text, problems, fence)
    return PlaybookDraft(incident_id=incident.id, yaml_text=attempts[-1].yaml_text,
                         title=title or f"Draft rule for incident {incident.id} ({incident.rule})",
                         rationale=sanitize_markdown(rationale) if rationale else "",
                         model=attempts[-1].usage.model, attempts=tuple(attempts))
