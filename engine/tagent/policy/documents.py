"""From plain YAML data to Rule / Playbook / EscalationPolicy models, with errors at `path:line`.

pydantic reports where a problem is as a location tuple; the loader knows the line of every location,
so each pydantic error becomes one human line such as
`rules/x.yaml:12: spec.when.kubernetes.reasn: unknown field`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from tagent.model.policy import KINDS, EscalationPolicy, Playbook, Rule
from tagent.policy.loader import SourceDoc, read_file
from tagent.policy.problems import Loc, Problem, dotted

Document = Rule | Playbook | EscalationPolicy
_MODELS: dict[str, type[Document]] = {"Rule": Rule, "Playbook": Playbook, "EscalationPolicy": EscalationPolicy}


@dataclass(frozen=True)
class LoadedDoc:
    """A validated document and the source it came from (for cross-document problems)."""

    model: Document
    source: SourceDoc

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def name(self) -> str:
        return self.model.name

    def problem(self, loc: Loc, message: str) -> Problem:
        """A problem at `loc` in this document, prefixed with the dotted location."""
        where = dotted(loc)
        return Problem(self.source.path, self.source.line_of(loc), f"{where}: {message}" if where else message)


def _human(err: Any) -> str:
    """A short, readable message for one pydantic error."""
    kind, msg = err["type"], str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field missing"
    if kind in ("value_error", "assertion_error"):
        return msg.split(", ", 1)[1] if msg.startswith(("Value error, ", "Assertion failed, ")) else msg
    if kind in ("literal_error", "enum"):
        return f"must be {err['ctx']['expected']}, got {err['input']!r}"
    if msg.startswith("Input should be "):
        msg = "must be " + msg[len("Input should be "):]
    return msg[:1].lower() + msg[1:]


def _errors(doc: SourceDoc, errors: Sequence[Any]) -> list[Problem]:
    # A misspelt required key shows up twice (unknown `reasn`, missing `reason`): say it once, with a hint.
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    hints: dict[Loc, str] = {}
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            siblings = [str(m[-1]) for m in missing if m[:-1] == loc[:-1] and m[-1] not in hints.values()]
            close = difflib.get_close_matches(loc[-1], siblings, n=1)
            if close:
                hints[loc] = close[0]
    dropped = {(*loc[:-1], name) for loc, name in hints.items()}
    out: list[Problem] = []
    for err in errors:
        loc = tuple(err["loc"])
        if loc in dropped and err["type"] == "missing":
            continue
        message = _human(err) + (f" (did you mean {hints[loc]!r}?)" if loc in hints else "")
        where = dotted(loc)
        problem = Problem(doc.path, doc.line_of(loc), f"{where}: {message}" if where else message)
        if problem not in out:
            out.append(problem)
    return out


def build(doc: SourceDoc) -> tuple[LoadedDoc | None, list[Problem]]:
    """The model of one document, or its problems (one per pydantic error, each with its line)."""
    data = doc.data
    if not isinstance(data, dict):
        return None, [Problem(doc.path, doc.line, "a document must be a mapping with apiVersion, kind, metadata"
                              " and spec")]
    kind = data.get("kind")
    if kind is None:
        return None, [Problem(doc.path, doc.line, f"kind: required field missing (one of {', '.join(KINDS)})")]
    if kind not in _MODELS:
        return None, [Problem(doc.path, doc.line_of(("kind",)),
                              f"kind: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")]
    try:
        model = _MODELS[kind].model_validate(data)
    except pydantic.ValidationError as exc:
        return None, _errors(doc, exc.errors())
    return LoadedDoc(model, doc), []


def declared_name(doc: SourceDoc) -> tuple[str, str] | None:
    """(kind, metadata.name) of a document even when it is invalid, so that a broken playbook does not
    also make every rule that references it fail with `not found`."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return None
    kind, name = data.get("kind"), data["metadata"].get("name")
    return (kind, name) if isinstance(kind, str) and isinstance(name, str) else None


def load_file(file: Path, display: str | None = None) -> tuple[list[LoadedDoc], list[Problem]]:
    """The valid documents of one file and the problems of the others (no cross-document checks: use
    tagent.policy.validate for a whole set)."""
    sources, problems = read_file(file, display)
    docs = []
    for source in sources:
        loaded, found = build(source)
        problems += found
        if loaded is not None:
            docs.append(loaded)
    return docs, problems
