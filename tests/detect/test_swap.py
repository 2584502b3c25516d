"""Rules versions swap atomically: every event is matched by exactly one version and none is lost."""

from __future__ import annotations

import threading

import psutil
import pytest

from tagent.detect import Detector
from tagent.errors import ValidationError
from tests.detect.support import Clock, k8s, metric, rule, target

CRASH = {"kubernetes": {"reason": "CrashLoopBackOff"}}
BAD_DEPLOY = {"all": [{"kubernetes": {"reason": "RolloutStarted"}},
                      {"metrics": {"name": "error_rate", "op": ">", "value": 0.05}}], "within": "10m"}


def version(n: int) -> list:
    """Version n: the crash rule (params name the version) plus a rule that exists only in odd versions."""
    rules = [rule("crash", CRASH, then={"playbook": "restart-workload", "params": {"v": n}})]
    if n % 2:
        rules.append(rule(f"oom-{n}", {"kubernetes": {"reason": "OOMKilled"}}))
    return rules


def test_swap_changes_what_matches(make) -> None:
    det = make(*version(1), version="v1")
    assert sorted(d.rule for d in det.process(k8s("OOMKilled"))) == ["oom-1"]
    det.swap(version(2), "v2")
    assert det.version == "v2"
    assert det.process(k8s("OOMKilled")) == []
    [decision] = det.process(k8s("CrashLoopBackOff"))
    assert (decision.rules_version, decision.params) == ("v2", {"v": 2})


def test_concurrent_producer_loses_nothing(make) -> None:
    det = make(*version(0), version="v0")
    total = 3000
    seen: list[tuple[int, str, int]] = []
    done = threading.Event()

    def produce() -> None:
        for i in range(total):
            for d in det.process(k8s("CrashLoopBackOff", target(f"w{i % 50}"))):
                seen.append((i, d.rules_version, d.params["v"]))
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    swaps = 0
    while not done.is_set():
        swaps += 1
        det.swap(version(swaps), f"v{swaps}")
    producer.join(timeout=60)
    assert swaps > 5  # the swaps really interleaved with the producer
    assert [i for i, _, _ in seen] == list(range(total))  # one decision per event: none lost, none doubled
    versions = [int(v[1:]) for _, v, _ in seen]
    assert versions == sorted(versions)  # versions only move forward
    assert all(int(v[1:]) == n for _, v, n in seen)  # each decision is wholly one version's


def test_pending_sequence_survives_a_swap_when_its_rule_is_unchanged(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY), rule("crash", CRASH), clock=clock, version="v1")
    started = k8s("RolloutStarted", kind="Rollout")
    det.process(started)
    det.swap([rule("bad-deploy", BAD_DEPLOY)], "v2")  # crash rule removed, bad-deploy unchanged
    clock.advance(60)
    bad = metric("error_rate", 0.3)
    [decision] = det.process(bad)
    assert decision.rules_version == "v2" and decision.event_ids == [started.id, bad.id]


def test_pending_sequence_is_dropped_when_its_rule_changed(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY), clock=clock, version="v1")
    det.process(k8s("RolloutStarted", kind="Rollout"))
    changed = {**BAD_DEPLOY, "within": "5m"}
    det.swap([rule("bad-deploy", changed)], "v2")
    assert det.stats().pending_sequences == 0
    assert det.process(metric("error_rate", 0.3)) == []


def test_for_window_survives_a_swap(make) -> None:
    clock = Clock()
    cpu = rule("cpu", {"metrics": {"name": "cpu_utilization", "op": ">", "value": 0.8, "for": "3m"}})
    det = make(cpu, clock=clock, version="v1")
    det.process(metric("cpu_utilization", 0.9))
    clock.advance(120)
    det.process(metric("cpu_utilization", 0.9))
    det.swap([cpu, rule("crash", CRASH)], "v2")
    clock.advance(60)
    assert [d.rules_version for d in det.process(metric("cpu_utilization", 0.9))] == ["v2"]


def test_a_version_that_does_not_compile_never_activates(make) -> None:
    det = make(*version(1), version="v1")
    with pytest.raises(ValidationError, match="defined twice"):
        det.swap([rule("crash", CRASH), rule("crash", CRASH)], "broken")
    assert det.version == "v1"
    assert [d.rules_version for d in det.process(k8s("CrashLoopBackOff"))] == ["v1"]


def test_memory_stays_flat_across_100_reloads(make) -> None:
    """Old durable rulesets and sessions are freed on every swap (durable leaks them otherwise)."""
    clock = Clock()
    rules = [rule(f"crash-{i}", {"kubernetes": {"reason": f"Reason{i}"}}) for i in range(20)]
    rules.append(rule("bad-deploy", BAD_DEPLOY))
    det: Detector = make(*rules, clock=clock)

    def cycle(n: int) -> None:
        clock.advance(60)  # windows (10m) expire as they would in real time
        for w in range(30):
            det.process(k8s("RolloutStarted", target(f"w{w}"), kind="Rollout"))
            det.process(k8s(f"Reason{w % 20}", target(f"w{w}")))
        det.swap(rules, f"v{n}")

    for n in range(10):  # warm up allocator pools
        cycle(n)
    before = psutil.Process().memory_info().rss
    for n in range(10, 110):
        cycle(n)
    growth_mb = (psutil.Process().memory_info().rss - before) / 1e6
    stats = det.stats()
    assert stats.rulesets == 2 and stats.pending_sequences == 30
    print(f"RSS growth {growth_mb:.2f} MB")
    assert growth_mb < 20, f"RSS grew {growth_mb:.1f} MB over 100 reloads"
