"""Texts around a drafted playbook: the action catalog as the model reads it, and the pull request
description a reviewer reads. Plain functions over data, so both can be tested without Git or an LLM."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from tagent.actions.catalog import CATALOG, Action, Param
from tagent.llm.draft import PlaybookDraft
from tagent.model.core import Incident
from tagent.policy.ruleset import RuleSet

MAX_EXAMPLE_CHARS = 1500


def _param(p: Param) -> str:
    bits: list[str] = [p.type]
    if p.required:
        bits.append("required")
    if p.minimum is not None or p.maximum is not None:
        bits.append(f"{'' if p.minimum is None else f'{p.minimum:g}'}..{'' if p.maximum is None else f'{p.maximum:g}'}")
    if p.choices:
        bits.append("one of " + "|".join(p.choices))
    if p.default not in (None, "", [], {}):
        bits.append(f"default {p.default}")
    return f"{p.name} ({', '.join(bits)})"


def _action(a: Action) -> str:
    params = "; ".join(_param(p) for p in a.params) or "no parameters"
    one_of = "".join(f"; give exactly one of {', '.join(group)}" for group in a.exactly_one)
    return f"- {a.name}{' [mutates]' if a.mutates else ''}: {a.description}. Params: {params}{one_of}"


def catalog_text() -> str:
    """Every action of the closed catalog, one line each, with its parameters."""
    return "\n".join(_action(a) for a in CATALOG.values())


def example_text(ruleset: RuleSet, root: Path) -> str:
    """One rule of the active set with its playbook, as written in the repository (for style)."""
    for name in sorted(ruleset.rules):
        playbook = ruleset.rules[name].spec.then.playbook
        origins = [ruleset.origins.get(("Rule", name)), ruleset.origins.get(("Playbook", playbook or ""))]
        files = dict.fromkeys(o.rsplit(":", 1)[0] for o in origins if o)
        if len(files) < 1 or playbook is None:
            continue
        try:
            texts = [(root / f).read_text(encoding="utf-8")[:MAX_EXAMPLE_CHARS] for f in files]
        except OSError:
            continue
        return "\n---\n".join(t.strip() for t in texts)
    return ""


def safe_ref_part(text: str, limit: int = 40) -> str:
    """A piece of a Git branch or file name: lower-case letters, digits and '-' only."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "x"


def description(draft: PlaybookDraft, incident: Incident, *, base: str, base_sha: str, files: Sequence[str],
                names: Sequence[tuple[str, str]], redact: Callable[[str], str] = lambda s: s) -> str:
    """The pull request body (and commit message body): what, why, how it was checked, how it takes effect.
    `redact` masks the text that came from the model (already redacted by the LLM client: defence in depth;
    applied to that text only, since Tagent's own paths and names look random to the pattern check)."""
    made = ", ".join(f"{kind} `{name}`" for kind, name in names)
    first = draft.attempts[0].problems if len(draft.attempts) > 1 else ()
    lines = [
        f"Tagent drafted {made} after incident `{incident.id}`: rule `{incident.rule}` on "
        f"{incident.target.kind} `{incident.target}` (severity {incident.severity.value}, status "
        f"{incident.status.value}, opened {incident.opened_at.isoformat()}).",
        "",
        "## How this was checked",
        "",
        f"- Written by an LLM (`{draft.model}`): review the condition, the scope (`match`) and the `mode` "
        "before merging.",
        f"- Passed the same validation as `tagent validate`, together with every rule on `{base}` at "
        f"`{base_sha[:12]}` (schema, unique names, playbook references, the closed action catalog).",
        f"- Attempts: {len(draft.attempts)}" + (f" (the first draft was sent back with {len(first)} problem(s), "
                                                f"e.g. `{redact(first[0])}`)" if first else "") + ".",
        f"- It takes effect only when this branch is merged into `{base}`; Tagent activates a rules version "
        "after it validates on the watched branch.",
        "",
        "## Files",
        "",
        *(f"- `{f}`" for f in files),
    ]
    if draft.rationale:
        lines += ["", "## Why (written by the model, may be wrong)", "", redact(draft.rationale)]
    return "\n".join(lines) + "\n"
