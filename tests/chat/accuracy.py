"""Accuracy of the deterministic parser over tests/data/chat_phrasings.yaml.

Run `.venv/bin/python -m tests.chat.accuracy` to print the number and every failing phrasing;
tests/chat/test_accuracy.py asserts the same computation stays at or above 95 %.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tagent.chat.clusters import across_clusters
from tagent.chat.intent import ChatIntent, ChatTarget, TargetKind
from tagent.chat.parser import Parser
from tests.chat.inventory import sandbox_nodes, sandbox_workloads

PHRASINGS = Path(__file__).resolve().parent.parent / "data" / "chat_phrasings.yaml"


def target_label(target: ChatTarget | None) -> str | None:
    """The notation of the phrasing file: ns/name, node/NAME, nodes, pods[/NS], deployments/NS, namespaces; with
    "@cluster" when the target is in a named cluster."""
    if target is None:
        return None
    if target.cluster:
        return f"{target_label(target.model_copy(update={'cluster': ''}))}@{target.cluster}"
    if target.is_workload and target.name:
        return f"{target.namespace}/{target.name}"
    if target.kind is TargetKind.node:
        return f"node/{target.name}" if target.name else "nodes"
    if target.kind is TargetKind.namespace:
        return "namespaces"
    plural = "pods" if target.kind is TargetKind.pod else "deployments"
    return f"{plural}/{target.namespace}" if target.namespace else plural


def actual_params(result: ChatIntent) -> dict[str, Any]:
    params = result.params.model_dump(mode="json", exclude_none=True)
    if params.get("tail") == 100:
        del params["tail"]  # the logs default, stated in CLI.md
    return params


@dataclass
class Outcome:
    case: dict[str, Any]
    result: ChatIntent
    problems: list[str]


def check(case: dict[str, Any], result: ChatIntent) -> list[str]:
    problems = []
    if result.intent.value != case["intent"]:
        problems.append(f"intent {result.intent.value} != {case['intent']}")
    if target_label(result.target) != case.get("target"):
        problems.append(f"target {target_label(result.target)} != {case.get('target')}")
    if actual_params(result) != (case.get("params") or {}):
        problems.append(f"params {actual_params(result)} != {case.get('params') or {}}")
    if result.question_reason != case.get("question"):
        problems.append(f"question {result.question_reason} != {case.get('question')}")
    return problems


HOME, REMOTES = "default", ("prod", "staging")


def cluster_parsers() -> dict[str, Parser]:
    """The clusters of `clusters: true` cases: default and prod hold the sandbox, staging all but payment-service."""
    staging = [w for w in sandbox_workloads() if w.ref.name != "payment-service"]
    return {HOME: Parser(sandbox_workloads(), sandbox_nodes()), "prod": Parser(sandbox_workloads(), sandbox_nodes()),
            "staging": Parser(staging, sandbox_nodes())}


def evaluate(path: Path = PHRASINGS) -> list[Outcome]:
    cases = yaml.safe_load(path.read_text(encoding="utf-8"))
    parser = Parser(sandbox_workloads(), sandbox_nodes())
    clusters = cluster_parsers()
    outcomes = []
    for case in cases:
        text = str(case["text"])
        if case.get("clusters"):  # as tagent.chat.service.ChatService does with several clusters
            result = across_clusters(text, HOME, REMOTES, lambda name, said: clusters[name].parse(said))
        else:
            result = parser.parse(text)
        outcomes.append(Outcome(case, result, check(case, result)))
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    passed = sum(1 for o in outcomes if not o.problems)
    lines = [f"chat parser accuracy: {passed}/{len(outcomes)} = {100 * passed / len(outcomes):.1f}%"]
    sets: dict[str, list[Outcome]] = {}
    for o in outcomes:
        sets.setdefault(str(o.case.get("set", "first")), []).append(o)
    lines += [f"  {name}: {sum(1 for o in got if not o.problems)}/{len(got)}" for name, got in sets.items()]
    for o in outcomes:
        if o.problems:
            lines.append(f"  FAIL {o.case['text']!r}: {'; '.join(o.problems)}")
    return "\n".join(lines)


if __name__ == "__main__":
    results = evaluate()
    print(report(results))
    sys.exit(0 if sum(1 for o in results if not o.problems) / len(results) >= 0.95 else 1)
