"""`traces` conditions: validated like the others, matched by the detector on the traces source's events, and
dry-run by `tagent test-rule` from trace samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tagent.detect.dryrun import dry_run, parse_events
from tagent.errors import ValidationError
from tagent.model.core import Event
from tagent.policy.validate import check_paths
from tagent.traces.source import TraceQuery, red_event, trace_queries
from tests.detect.conftest import MakeDetector
from tests.detect.support import Clock, k8s, rule, target
from tests.detect.test_cli_test_rule import PLAYBOOK, run, run_here

P99 = {"traces": {"service": "shop/checkout", "metric": "p99_ms", "op": ">", "value": 1500, "for": "2m"}}


def red(tgt_name: str = "checkout", clock: Clock | None = None, query: TraceQuery | None = None,
        labels: dict[str, str] | None = None, **numbers: float) -> Event:
    """What the traces source emits for one RED answer (the same function builds both)."""
    query = query or TraceQuery("r#0", "shop/checkout", "p99_ms", 300.0, 10)
    answer: dict[str, Any] = {"requests": 100, "source": "embedded", **numbers}
    event = red_event(query, answer, target(tgt_name), labels or {}, (clock or Clock())())
    assert event is not None
    return event


def test_the_condition_validates_with_one_line_per_problem(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "t.yaml").write_text("""\
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: ok}
spec:
  mode: notify
  when:
    traces: {service: shop/checkout, metric: error_ratio, op: ">", value: 0.05, for: 2m, window: 5m}
---
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: bad-metric}
spec:
  mode: notify
  when: {traces: {metric: p98_ms, op: ">", value: 1}}
---
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: bad-field}
spec:
  mode: notify
  when: {traces: {metric: p99_ms, op: ">", value: 1, windw: 5m}}
---
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: bad-times}
spec:
  mode: notify
  when: {traces: {metric: p99_ms, op: ">", value: 1, window: 5 minutes, for: 1s, min_requests: -1}}
---
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: bad-service}
spec:
  mode: notify
  when: {traces: {service: checkout, metric: p99_ms, op: "=>", value: 1}}
""")
    problems = [str(p) for p in check_paths([tmp_path / "rules"], relative_to=tmp_path).problems]
    assert problems == [
        "rules/t.yaml:14: spec.when.traces.metric: must be 'rate_per_s', 'error_ratio', 'p50_ms', 'p95_ms' or "
        "'p99_ms', got 'p98_ms'",
        "rules/t.yaml:21: spec.when.traces.windw: unknown field",
        "rules/t.yaml:28: spec.when.traces.min_requests: must be greater than or equal to 0",
        "rules/t.yaml:28: spec.when.traces.window: invalid duration '5 minutes': use a number and a unit, e.g. "
        "30s, 5m, 1h, 2d",
        "rules/t.yaml:35: spec.when.traces.op: must be '<', '<=', '>', '>=', '==' or '!=', got '=>'",
        "rules/t.yaml:35: spec.when.traces.service: service 'checkout' is not NAMESPACE/NAME, e.g. shop/checkout",
    ]


def test_a_threshold_must_hold_for_its_duration(make: MakeDetector) -> None:
    clock = Clock()
    r = rule("r", P99)
    det = make(r, clock=clock)
    query = trace_queries([r])[0]
    assert query == TraceQuery("r#0", "shop/checkout", "p99_ms", 300.0, 10)
    assert det.process(red(clock=clock, query=query, p99_ms=2000)) == []
    clock.advance(60)
    assert det.process(red(clock=clock, query=query, p99_ms=900)) == []  # the streak breaks
    clock.advance(60)
    assert det.process(red(clock=clock, query=query, p99_ms=2100)) == []
    clock.advance(125)
    [decision] = det.process(red(clock=clock, query=query, p99_ms=2200))
    assert decision.rule == "r" and decision.target == target("checkout")


def test_after_a_rollout_on_the_same_workload_only(make: MakeDetector) -> None:
    clock = Clock()
    r = rule("after-rollout", {"all": [{"kubernetes": {"reason": "RolloutStarted"}},
                                       {"traces": {"metric": "p99_ms", "op": ">", "value": 1500}}],
                               "within": "15m"})
    det = make(r, clock=clock)
    query = trace_queries([r])[0]
    assert query.service is None and query.key == "after-rollout#1"
    assert det.process(k8s("RolloutStarted", target("checkout"), kind="Rollout")) == []
    clock.advance(60)
    assert det.process(red("cart", clock, query, p99_ms=4000)) == []  # another workload
    assert det.process(red("checkout", clock, query, p99_ms=700)) == []
    [decision] = det.process(red("checkout", clock, query, p99_ms=1800))
    assert decision.rule == "after-rollout" and decision.target.name == "checkout"


def test_scope_selects_on_the_workload_labels_and_too_few_requests_give_no_event(make: MakeDetector) -> None:
    r = rule("scoped", {"traces": {"metric": "error_ratio", "op": ">", "value": 0.1}},
             match={"selector": {"tier": "backend"}, "namespaces": ["shop"]})
    det = make(r)
    query = trace_queries([r])[0]
    assert det.process(red(query=query, error_ratio=0.5, labels={"tier": "frontend"})) == []
    assert len(det.process(red(query=query, error_ratio=0.5, labels={"tier": "backend"}))) == 1
    few = red_event(query, {"error_ratio": 1.0, "requests": 3, "rate_per_s": 0.01}, target(), {}, Clock()())
    assert few is None  # 3 failed requests out of 3 are no ratio yet (min_requests 10)
    rate = red_event(query._replace(metric="rate_per_s"), {"rate_per_s": 0.01, "requests": 3}, target(), {},
                     Clock()())
    assert rate is not None and rate.values["value"] == 0.01
    assert red_event(query, {"error_ratio": None, "requests": 50}, target(), {}, Clock()()) is None


def test_disabled_rules_ask_for_nothing() -> None:
    assert trace_queries([rule("off", P99, enabled=False)]) == []


SAMPLES = [
    {"source": "kubernetes", "kind": "Rollout", "reason": "RolloutStarted",
     "target": {"namespace": "shop", "name": "checkout"}, "observed_at": "2026-01-01T10:00:00Z"},
    {"traces": {"service": "shop/checkout", "p99_ms": 2300}, "observed_at": "2026-01-01T10:03:00Z"},
    {"traces": {"service": "shop/checkout", "p99_ms": 2400, "requests": 700}, "observed_at": "2026-01-01T10:05:30Z"},
]


def test_test_rule_takes_trace_samples(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    result = run_here(str(repo / "rules" / "trace-rules.yaml"), "--event", _write(tmp_path, SAMPLES), "-o", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    [decision] = out["decisions"]
    assert decision["rule"] == "latency-regression-rollback" and decision["event_index"] == 2
    assert decision["params"]["reason"] == "p99 latency 2400 ms after a rollout (from traces)"
    assert [s["action"] for s in decision["steps"]] == ["kubernetes.rollout_undo", "kubernetes.wait_healthy",
                                                        "notify.send"]
    few = [SAMPLES[0], {**SAMPLES[2], "traces": {"service": "shop/checkout", "p99_ms": 2400, "requests": 3}}]
    assert run_here(str(repo / "rules" / "trace-rules.yaml"), "--event", _write(tmp_path, few)).exit_code == 3


def test_a_bad_trace_sample_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"^event\.1\.traces\.p99: Extra inputs are not permitted$"):
        parse_events([SAMPLES[0], {"traces": {"service": "shop/checkout", "p99": 3}}])
    (tmp_path / "rules").mkdir()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "p.yaml").write_text(PLAYBOOK)
    (tmp_path / "rules" / "r.yaml").write_text(
        "apiVersion: tagent.io/v1\nkind: Rule\nmetadata: {name: r}\nspec:\n  when: {traces: {metric: p99_ms, "
        "op: '>', value: 1}}\n  then: {playbook: restart-workload}\n")
    out = run(str(tmp_path / "rules" / "r.yaml"), "--event",
              _write(tmp_path, {"traces": {"service": "checkout", "p99_ms": 5}}))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().splitlines()[-1].endswith("event.traces.service: Value error, service 'checkout' is "
                                                        "not NAMESPACE/NAME, e.g. shop/checkout")


def test_dry_run_expands_a_sample_for_every_condition_it_matches() -> None:
    rules = [rule("a", {"traces": {"metric": "error_ratio", "op": ">", "value": 0.1}}, mode="notify", then={}),
             rule("b", {"traces": {"service": "shop/cart", "metric": "error_ratio", "op": ">", "value": 0.1}},
                  mode="notify", then={}),
             rule("c", {"traces": {"metric": "p50_ms", "op": ">", "value": 1}}, mode="notify", then={})]
    samples = parse_events([{"traces": {"service": "shop/checkout", "error_ratio": 0.4}}])
    result = dry_run(rules, samples)
    assert [d["rule"] for d in result["decisions"]] == ["a"]  # b is about cart; c's p50 is unknown


def _write(tmp_path: Path, data: object) -> str:
    path = tmp_path / f"samples-{abs(hash(json.dumps(data)))}.json"
    path.write_text(json.dumps(data))
    return str(path)
