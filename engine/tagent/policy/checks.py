"""Checks that need more than one document, or the action catalog: each returns `Problem`s at the line
of the offending key. Schema checks (types, ranges, durations, names) already happened in the models."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tagent.actions.catalog import CATALOG
from tagent.model.policy import ParamSpec, Playbook, Rule, Step
from tagent.policy.documents import LoadedDoc
from tagent.policy.loader import SourceDoc
from tagent.policy.problems import Loc, Problem, dotted
from tagent.policy.templates import CONTEXT, RULE_CONTEXT, check_template
from tagent.policy.values import check_value, templates_in


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unique_names(docs: Sequence[LoadedDoc]) -> list[Problem]:
    """A name appears once per kind across the whole set; the later definition is the error."""
    first: dict[tuple[str, str], LoadedDoc] = {}
    out = []
    for doc in docs:
        key = (doc.kind, doc.name)
        if key in first:
            where = f"{first[key].source.path}:{first[key].source.line}"
            out.append(doc.problem(("metadata", "name"), f"{doc.kind} {doc.name!r} is already defined at {where}"))
        else:
            first[key] = doc
    return out


def _param_spec(doc: LoadedDoc, name: str, spec: ParamSpec) -> list[Problem]:
    loc: Loc = ("spec", "params", name)
    numeric = spec.type in ("integer", "number")
    if not numeric and (spec.minimum is not None or spec.maximum is not None):
        return [doc.problem(loc, f"minimum/maximum apply to integer and number, not {spec.type}")]
    if spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        return [doc.problem((*loc, "minimum"), f"minimum {spec.minimum:g} is above maximum {spec.maximum:g}")]
    for i, choice in enumerate(spec.enum or []):
        error = check_value(choice, spec.type)
        if error:
            return [doc.problem((*loc, "enum", i), error)]
    if spec.default is not None:
        error = check_value(spec.default, spec.type, minimum=spec.minimum, maximum=spec.maximum,
                            choices=spec.enum)
        if error:
            return [doc.problem((*loc, "default"), error)]
    return []


def _step(doc: LoadedDoc, loc: Loc, step: Step, params: set[str]) -> list[Problem]:
    action = CATALOG.get(step.action)
    if action is None:
        return [doc.problem((*loc, "action"), f"unknown action {step.action!r}{_hint(step.action, list(CATALOG))}")]
    out = []
    known = [p.name for p in action.params]
    for key, value in step.with_.items():
        param = action.param(key)
        if param is None:
            out.append(doc.problem((*loc, "with", key), f"unknown parameter of {action.name}{_hint(key, known)}"
                                   f" (known: {', '.join(known) or 'none'})"))
            continue
        error = check_value(value, param.type, minimum=param.minimum, maximum=param.maximum,
                            choices=param.choices)
        if error:
            out.append(doc.problem((*loc, "with", key), error))
    for param in action.params:
        if param.required and param.name not in step.with_:
            out.append(doc.problem((*loc, "with") if step.with_ else loc,
                                   f"missing required parameter {param.name!r} of {action.name}"))
    for group in action.exactly_one:
        if sum(name in step.with_ for name in group) != 1:
            out.append(doc.problem((*loc, "with") if step.with_ else loc,
                                   f"{action.name} needs exactly one of {', '.join(group)}"))
    for sub, source in templates_in(step.with_):
        error = check_template(source, CONTEXT, params)
        if error:
            out.append(doc.problem((*loc, "with", *sub), error))
    return out


def playbook(doc: LoadedDoc) -> list[Problem]:
    """Param specs consistent, every step's action and parameters known to the catalog, templates sound."""
    model = doc.model
    assert isinstance(model, Playbook)
    out = [p for name, spec in model.spec.params.items() for p in _param_spec(doc, name, spec)]
    params = set(model.spec.params)
    seen: dict[str, int] = {}
    for section in ("steps", "on_failure"):
        for i, step in enumerate(getattr(model.spec, section)):
            loc: Loc = ("spec", section, i)
            out += _step(doc, loc, step, params)
            if step.name is not None and section == "steps":
                if step.name in seen:
                    out.append(doc.problem((*loc, "name"), f"step name {step.name!r} is already used by step"
                                           f" {seen[step.name]}"))
                seen.setdefault(step.name, i)
    return out


def _rule_params(doc: LoadedDoc, given: Mapping[str, Any], book: Playbook) -> list[Problem]:
    declared = book.spec.params
    out = []
    for key, value in given.items():
        spec = declared.get(key)
        if spec is None:
            known = ", ".join(declared) or "none"
            out.append(doc.problem(("spec", "then", "params", key),
                                   f"not a parameter of playbook {book.name!r}{_hint(key, list(declared))}"
                                   f" (known: {known})"))
            continue
        error = check_value(value, spec.type, minimum=spec.minimum, maximum=spec.maximum, choices=spec.enum)
        if error:
            out.append(doc.problem(("spec", "then", "params", key), error))
    for key, spec in declared.items():
        if spec.default is None and key not in given:
            out.append(doc.problem(("spec", "then", "params") if given else ("spec", "then", "playbook"),
                                   f"playbook {book.name!r} needs parameter {key!r} (it has no default)"))
    return out


def broken_rule_playbook(source: SourceDoc, playbooks: Collection[str], broken: set[str]) -> list[Problem]:
    """A rule whose schema failed still names its playbook: a missing one is reported as well, so a version
    with both mistakes shows both (the schema's problems alone hid the second)."""
    data = source.data
    spec = data.get("spec") if isinstance(data, dict) else None
    then = spec.get("then") if isinstance(spec, dict) else None
    name = then.get("playbook") if isinstance(then, dict) else None
    if not isinstance(name, str) or name in playbooks or name in broken:
        return []
    loc: Loc = ("spec", "then", "playbook")
    return [Problem(source.path, source.line_of(loc),
                    f"{dotted(loc)}: playbook {name!r} not found{_hint(name, list(playbooks))}")]


def rule(doc: LoadedDoc, playbooks: Mapping[str, Playbook], broken: set[str]) -> list[Problem]:
    """The playbook exists (or is broken itself, reported there), params fit it, templates are sound."""
    model = doc.model
    assert isinstance(model, Rule)
    then = model.spec.then
    out = []
    for sub, source in templates_in(then.params):
        error = check_template(source, RULE_CONTEXT)
        if error:
            out.append(doc.problem(("spec", "then", "params", *sub), error))
    if then.playbook is None:
        if then.params:
            out.append(doc.problem(("spec", "then", "params"), "params without a playbook"))
        return out
    book = playbooks.get(then.playbook)
    if book is None:
        if then.playbook not in broken:
            out.append(doc.problem(("spec", "then", "playbook"), f"playbook {then.playbook!r} not found"
                                   f"{_hint(then.playbook, list(playbooks))}"))
        return out
    return out + _rule_params(doc, then.params, book)
