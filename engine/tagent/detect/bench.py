"""The engine benchmark (`tagent bench engine`, bench/engine_bench.py): synthetic rules and events through
compile + match + guard + store (SQLite), and raw durable_rules on the same rules and messages.

It lives in `detect` because only this package may import durable. Numbers are printed, never asserted.
Synthetic traffic: a mix of every condition type over many workloads (more than durable's 1,024 sessions),
mostly samples that hold no threshold (as in a real cluster), on a clock that moves 10 ms per event.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import random
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from tagent.detect.compiler import compile_plan
from tagent.detect.conditions import SID, project
from tagent.detect.detector import CompiledVersion, Detector
from tagent.detect.rulesets import SHARED_SESSION, DurableRuleset
from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.model.policy import Rule, condition_key

REASONS = [f"Reason{i}" for i in range(30)] + ["CrashLoopBackOff", "OOMKilled", "ImagePullBackOff", "BackOff"]
METRICS = ("cpu_utilization", "memory_utilization", "error_rate", "latency_p99", "request_rate")
NAMESPACES = ("shop", "payments", "search", "test", "kube-system")


def _rule(name: str, when: dict[str, Any], **spec: Any) -> Rule:
    return Rule.model_validate({"apiVersion": "tagent.io/v1", "kind": "Rule", "metadata": {"name": name},
                                "spec": {"when": when, "then": {"playbook": "restart-workload",
                                                                "params": {"reason": "{{ event.reason }}"}},
                                         **spec}})


def synthetic_rules(count: int, variant: int = 0) -> list[Rule]:
    """`count` rules of every kind; `variant` shifts one threshold (a new rules version for reloads)."""
    rules: list[Rule] = []
    for i in range(count):
        name, kind = f"r{i:03d}", i % 20
        if kind < 8:
            match = {"namespaces": [NAMESPACES[i % 4]]} if i % 3 == 0 else {}
            rules.append(_rule(name, {"kubernetes": {"reason": REASONS[i % len(REASONS)]}}, match=match))
        elif kind < 13:
            value = 0.9 + (variant if i == 8 else 0) * 1e-4
            rules.append(_rule(name, {"metrics": {"name": METRICS[i % len(METRICS)], "op": ">", "value": value,
                                                  "for": ["0s", "1m", "5m"][i % 3]}}))
        elif kind < 15:
            rules.append(_rule(name, {"prometheus": {"query": f"q{i}", "op": ">", "value": 10, "for": "30s"}}))
        elif kind < 17:
            rules.append(_rule(name, {"logs": {"pattern": "ERROR", "count": ">5", "window": "1m"}}))
        elif kind < 19:
            rules.append(_rule(name, {"alert": {"alertname": f"Alert{i}", "labels": {"severity": "critical"}}},
                               match={"selector": {"team": "t1"}}))
        else:
            rules.append(_rule(name, {"all": [{"kubernetes": {"reason": "RolloutStarted"}},
                                              {"metrics": {"name": "error_rate", "op": ">", "value": 0.05}}],
                                      "within": "10m"}))
    return rules


QUIET_REASONS = ("Pulled", "Created", "Started", "Scheduled", "SuccessfulCreate", "ScalingReplicaSet")


def synthetic_events(rules: list[Rule], workloads: int, seed: int = 1) -> Iterator[Event]:
    """Endless events over `workloads` workloads, shaped like a cluster's: mostly metric samples below
    every threshold and routine Kubernetes reasons; now and then a reason, PromQL result, log count or
    alert that some rule acts on (about 2 % of events end in a decision)."""
    rnd = random.Random(seed)
    prom = [condition_key(r.name, 0) for r in rules if r.spec.when.prometheus is not None]
    logs = [condition_key(r.name, 0) for r in rules if r.spec.when.logs is not None]
    targets = [WorkloadRef(namespace=NAMESPACES[w % len(NAMESPACES)], name=f"w{w}") for w in range(workloads)]
    labels = [{"app": f"w{w}", "team": f"t{w % 3}"} for w in range(workloads)]
    for n in itertools.count():
        w = rnd.randrange(workloads)
        tgt, lab, pick, hot = targets[w], labels[w], rnd.random(), rnd.random() < 0.02
        if pick < 0.60:
            source, kind, reason = EventSource.metrics, "Metric", METRICS[n % len(METRICS)]
            values = {"value": 0.95 if hot else rnd.random() * 0.04}
        elif pick < 0.85:
            source, kind = EventSource.kubernetes, "PodState"
            reason = rnd.choice(REASONS) if hot else rnd.choice(QUIET_REASONS)
            values = {"restarts": float(rnd.randrange(5))}
        elif pick < 0.852:  # a rollout of some workload every 5 s of clock time: a busy cluster
            source, kind, reason, values = EventSource.kubernetes, "Rollout", "RolloutStarted", {"revision": 2.0}
        elif pick < 0.92 and prom:
            source, kind, reason = EventSource.prometheus, "PromQuery", rnd.choice(prom)
            values = {"value": 11.0 if hot else rnd.random() * 5}
        elif pick < 0.98 and logs:
            source, kind, reason = EventSource.logs, "LogPattern", rnd.choice(logs)
            values = {"count": 9.0 if hot else float(rnd.randrange(3)), "window_s": 60.0}
        else:
            source, kind, values = EventSource.alert, "Alert", {}
            reason = f"Alert{rnd.randrange(20)}" if hot else "Watchdog"
        yield Event.model_construct(id=f"e{n}", source=source, kind=kind, reason=reason, target=tgt, message="",
                                    labels={**lab, "severity": "critical"}, values=values,
                                    observed_at=datetime.now(UTC))


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class _Pipeline:
    """Guard + store after matching, when those packages are present."""

    admit: Callable[[Any, float], object] | None
    stages: list[str]
    close: Callable[[], None]


def _pipeline(clock: _Clock, data_dir: Path) -> _Pipeline:
    try:
        from tagent.guard import Guard
        from tagent.settings import Settings
        from tagent.store import Store
    except ImportError:
        return _Pipeline(None, ["compile", "match"], lambda: None)
    settings = Settings(data_dir=data_dir)
    store = Store.open(settings.database_url)
    guard = Guard(store, settings, clock)

    def admit(decision: Any, cooldown: float) -> object:
        return guard.admit(decision, cooldown=cooldown)

    return _Pipeline(admit, ["compile", "match", "guard", "store(sqlite)"], store.db.dispose)


def _rss_mb() -> float:
    return round(psutil.Process().memory_info().rss / 1e6, 1)


def _raw_durable(rules: list[Rule], events: list[Event], workloads: int) -> float:
    """Events per second through bare durable posts: same rulesets, messages projected beforehand."""
    plan = compile_plan(rules, "raw", ("kube-system",))
    version = CompiledVersion(plan)
    work: list[tuple[list[DurableRuleset], str]] = []
    for n, event in enumerate(events):
        route = plan.routes.get((event.source.value, event.reason))
        if route is None:
            continue
        msg = project(event, ts=n * 0.01, seq=n + 1, label_keys=route.label_keys,
                      held={cp.held_prop: 600.0 for cp in route.streaks if cp.held_prop})
        targets = [version.lanes[i] for i in route.lanes] + [version.families[s].ruleset for s in route.sequences]
        work.append((targets, json.dumps({**msg, SID: SHARED_SESSION}, ensure_ascii=False)))
    started = time.perf_counter()
    for targets, text in work:
        for ruleset in targets:
            ruleset.post_text(SHARED_SESSION, text)
    elapsed = time.perf_counter() - started
    version.close()
    return len(events) / elapsed if elapsed > 0 else 0.0


def run_engine_bench(rules: int = 100, events: int = 100_000, reloads: int = 0, workloads: int = 2_000,
                     raw_sample: int = 100_000) -> dict[str, Any]:
    """Run the benchmark and return its JSON-ready result."""
    rule_set = synthetic_rules(rules)
    clock = _Clock()
    with tempfile.TemporaryDirectory(prefix="tagent-bench-") as tmp:
        pipeline = _pipeline(clock, Path(tmp))
        latencies = array("d", bytes(8 * events))  # allocated before the first RSS reading
        rss_start = _rss_mb()
        t0 = time.perf_counter()
        detector = Detector(rule_set, "v0", clock=clock, protected_namespaces=("kube-system",))
        compile_ms = (time.perf_counter() - t0) * 1000
        cooldowns = {r.name: r.spec.cooldown for r in rule_set}
        reload_every = events // reloads if reloads else 0
        decisions = admitted = 0
        swap_ms: list[float] = []
        source = synthetic_events(rule_set, workloads)
        match_s = guard_s = 0.0
        load_start = os.getloadavg()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(events):
            event = next(source)
            clock.now += timedelta(milliseconds=10)
            started = time.perf_counter()
            found = detector.process(event)
            matched = time.perf_counter()
            for decision in found:
                decisions += 1
                if pipeline.admit is not None and getattr(pipeline.admit(decision, cooldowns[decision.rule]),
                                                          "allowed", False):
                    admitted += 1
            done = time.perf_counter()
            latencies[n] = done - started
            match_s += matched - started
            guard_s += done - matched
            if reload_every and n % reload_every == reload_every - 1:
                t1 = time.perf_counter()
                detector.swap(synthetic_rules(rules, variant=n // reload_every + 1), f"v{n // reload_every + 1}")
                swap_ms.append((time.perf_counter() - t1) * 1000)
        wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        rss_end = _rss_mb()
        stats = detector.stats()
        detector.close()
        pipeline.close()
    busy = sum(latencies)
    ordered = sorted(latencies)
    raw = _raw_durable(rule_set, list(itertools.islice(synthetic_events(rule_set, workloads, seed=2),
                                                       min(events, raw_sample))), workloads)
    return {
        "events_per_s": round(events / busy, 1), "p50_ms": round(ordered[len(ordered) // 2] * 1000, 4),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 4),
        "max_ms": round(ordered[-1] * 1000, 3),
        "raw_durable_events_per_s": round(raw, 1), "rss_mb_start": rss_start, "rss_mb_end": rss_end,
        "rss_growth_mb": round(rss_end - rss_start, 1),
        "stages": pipeline.stages, "rules": rules, "events": events, "workloads": workloads, "reloads": reloads,
        "decisions": decisions, "admitted": admitted, "compile_ms": round(compile_ms, 2),
        "swap_ms_max": round(max(swap_ms), 2) if swap_ms else None, "wall_s": round(wall_s, 2),
        "match_events_per_s": round(events / match_s, 1),
        "guard_ms_per_decision": round(guard_s / decisions * 1000, 3) if decisions else None,
        "cpu_s": round(cpu_s, 2), "load_avg_start": round(load_start, 2), "load_avg_end": round(os.getloadavg()[0], 2),
        "live_sessions_end": stats.sessions, "rulesets_end": stats.rulesets,
        "note": "events_per_s and the latencies time detector.process plus guard.admit (SQLite writes) per "
                "event, on the wall clock (a loaded machine shows in load_avg_*); event generation is outside "
                "the timer. match_events_per_s: detector.process alone. raw_durable_events_per_s: the same "
                "projected messages posted straight into the same durable rulesets.",
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }
