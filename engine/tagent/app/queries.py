"""Which PromQL queries and log patterns the active rules ask the sources to evaluate."""

from __future__ import annotations

from collections.abc import Iterable

from tagent.model.policy import Rule, condition_key
from tagent.sources.base import SourceQuery


def prometheus_queries(rules: Iterable[Rule]) -> list[SourceQuery]:
    found = []
    for rule in rules:
        for i, cond in enumerate(rule.spec.when.conditions):
            if cond.prometheus is not None:
                found.append(SourceQuery(condition_key(rule.name, i), cond.prometheus.query))
    return found


def log_queries(rules: Iterable[Rule]) -> list[SourceQuery]:
    found = []
    for rule in rules:
        for i, cond in enumerate(rule.spec.when.conditions):
            if cond.logs is not None:
                found.append(SourceQuery(condition_key(rule.name, i), cond.logs.pattern, cond.logs.window))
    return found
