"""Validate a set of YAML files as one rule set: what `tagent validate` prints and what GitOps activates.

Every problem is a `Problem` (`path:line: message`); a `RuleSet` exists only when there are none.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tagent.errors import ValidationError
from tagent.model.policy import Playbook, Rule
from tagent.policy import checks, files, promql
from tagent.policy.documents import LoadedDoc, build, declared_name
from tagent.policy.loader import SourceDoc, read_file
from tagent.policy.problems import Loc, Problem
from tagent.policy.ruleset import RuleSet


@dataclass(frozen=True)
class Validation:
    """The outcome of validating some paths: the rule set when clean, else the problems."""

    ruleset: RuleSet | None
    problems: tuple[Problem, ...]
    files: tuple[Path, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _display(file: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        try:
            return file.relative_to(relative_to).as_posix()
        except ValueError:
            pass
    return str(file)


def _promql(docs: Sequence[LoadedDoc], promtool: str | None) -> list[Problem]:
    """Every PromQL query of every rule through one promtool run."""
    where: list[tuple[LoadedDoc, Loc]] = []
    queries: list[str] = []
    for doc in docs:
        if not isinstance(doc.model, Rule):
            continue
        when = doc.model.spec.when
        for i, cond in enumerate(when.conditions):
            if cond.prometheus is not None:
                base: Loc = ("spec", "when", "all", i) if when.all is not None else ("spec", "when")
                where.append((doc, (*base, "prometheus", "query")))
                queries.append(cond.prometheus.query)
    if not queries or promtool is None:
        return []
    try:
        errors = promql.check_queries(queries, promtool)
    except (OSError, subprocess.TimeoutExpired) as exc:
        doc, loc = where[0]
        return [doc.problem(loc, f"cannot check PromQL: {promtool} failed: {exc}")]
    return [where[i][0].problem(where[i][1], f"invalid PromQL: {msg}") for i, msg in sorted(errors.items())]


def check_files(file_list: Sequence[Path], *, relative_to: Path | None = None,
                promtool: str | None = "promtool") -> Validation:
    """Load and cross-check the given YAML files as one set. `promtool`: the binary to use (looked up on
    PATH; silently skipped when absent), or None to skip PromQL checks."""
    problems: list[Problem] = []
    docs: list[LoadedDoc] = []
    broken: set[tuple[str, str]] = set()
    broken_rules: list[SourceDoc] = []
    for file in file_list:
        if relative_to is not None and not file.resolve().is_relative_to(relative_to.resolve()):
            # a repository must not make us read (and echo) a file elsewhere on the host
            problems.append(Problem(_display(file, relative_to), 1, "links to a file outside the rules repository"))
            continue
        sources, found = read_file(file, _display(file, relative_to))
        problems += found
        for source in sources:
            loaded, found = build(source)
            problems += found
            if loaded is not None:
                docs.append(loaded)
            elif (name := declared_name(source)) is not None:
                broken.add(name)
                if name[0] == "Rule":
                    broken_rules.append(source)
    problems += checks.unique_names(docs)
    playbooks = {d.name: d.model for d in docs if isinstance(d.model, Playbook)}
    broken_books = {name for kind, name in broken if kind == "Playbook"}
    for source in broken_rules:
        problems += checks.broken_rule_playbook(source, playbooks, broken_books)
    for doc in docs:
        if isinstance(doc.model, Rule):
            problems += checks.rule(doc, playbooks, broken_books)
        elif isinstance(doc.model, Playbook):
            problems += checks.playbook(doc)
    problems += _promql(docs, promql.find_promtool(promtool))
    ordered = tuple(sorted(set(problems)))
    return Validation(None if ordered else RuleSet.from_docs(docs), ordered, tuple(file_list))


def check_paths(paths: Sequence[Path], *, relative_to: Path | None = None,
                promtool: str | None = "promtool") -> Validation:
    """Like `check_files`, for files and directories (recursive *.yaml / *.yml). A path that does not exist
    is a problem of its own."""
    missing = [Problem(str(p), 0, "no such file or directory") for p in paths if not p.exists()]
    result = check_files(files.collect(p for p in paths if p.exists()), relative_to=relative_to,
                         promtool=promtool)
    if not missing:
        return result
    return Validation(None, tuple(missing) + result.problems, result.files)


def load_ruleset(paths: Sequence[Path], *, relative_to: Path | None = None,
                 promtool: str | None = "promtool") -> RuleSet:
    """The rule set of `paths`, or tagent.errors.ValidationError whose `problems` are the lines."""
    result = check_paths(paths, relative_to=relative_to, promtool=promtool)
    if result.ruleset is None:
        lines = [str(p) for p in result.problems]
        raise ValidationError(f"{len(lines)} problem(s) in rules: {lines[0]}", lines)
    return result.ruleset
