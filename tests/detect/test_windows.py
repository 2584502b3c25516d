"""`for:` windows on the injected clock: per condition and target, reset by one sample that does not hold."""

from __future__ import annotations

from tagent.detect import Detector
from tagent.model.policy import condition_key
from tests.detect.support import Clock, metric, rule, target

HIGH_CPU = {"metrics": {"name": "cpu_utilization", "op": ">", "value": 0.8, "for": "5m"}}


def feed(det: Detector, clock: Clock, values: list[float], every: float = 60.0, **kw) -> list[int]:
    """Post one sample per `every` seconds; the indexes of the samples that fired."""
    hits = []
    for i, value in enumerate(values):
        if det.process(metric("cpu_utilization", value, **kw)):
            hits.append(i)
        clock.advance(every)
    return hits


def test_fires_once_every_sample_held_for_the_window(make) -> None:
    clock = Clock()
    det = make(rule("cpu", HIGH_CPU), clock=clock)
    # samples at 0..4 min hold but the window is not complete; at 5 min it is (first sample included)
    assert feed(det, clock, [0.9] * 5) == []
    assert feed(det, clock, [0.9]) == [0]


def test_one_sample_below_resets_the_window(make) -> None:
    clock = Clock()
    det = make(rule("cpu", HIGH_CPU), clock=clock)
    assert feed(det, clock, [0.9, 0.9, 0.9, 0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]) == [9]


def test_fast_clock_counts_clock_time_not_samples(make) -> None:
    """A sandbox clock running 60x: samples 5 clock-minutes apart fire on the second one."""
    clock = Clock()
    det = make(rule("cpu", HIGH_CPU), clock=clock)
    assert feed(det, clock, [0.9, 0.9], every=300) == [1]


def test_windows_are_per_target(make) -> None:
    clock = Clock()
    det = make(rule("cpu", HIGH_CPU), clock=clock)
    a, b = target("a"), target("b")
    det.process(metric("cpu_utilization", 0.9, a))
    clock.advance(240)
    det.process(metric("cpu_utilization", 0.9, b))
    clock.advance(60)
    assert [d.target for d in det.process(metric("cpu_utilization", 0.95, a))] == [a]
    assert det.process(metric("cpu_utilization", 0.95, b)) == []


def test_rules_with_different_windows_on_one_metric(make) -> None:
    clock = Clock()
    det = make(rule("cpu-5m", HIGH_CPU),
               rule("cpu-1m", {"metrics": {"name": "cpu_utilization", "op": ">", "value": 0.8, "for": "1m"}}),
               rule("cpu-high", {"metrics": {"name": "cpu_utilization", "op": ">", "value": 0.95, "for": "1m"}}),
               clock=clock)
    seen = []
    for _ in range(6):
        seen.append(sorted(d.rule for d in det.process(metric("cpu_utilization", 0.9))))
        clock.advance(60)
    assert seen == [[], ["cpu-1m"], ["cpu-1m"], ["cpu-1m"], ["cpu-1m"], ["cpu-1m", "cpu-5m"]]


def test_prometheus_for_window(make) -> None:
    clock = Clock()
    det = make(rule("errors", {"prometheus": {"query": "sum(rate(e[1m]))", "op": ">", "value": 10, "for": "2m"}}),
               clock=clock)
    key = condition_key("errors", 0)
    out = []
    for value in (11, 12, 13, 5, 11, 11, 11):
        out.append(bool(det.process(metric(key, value, source="prometheus"))))
        clock.advance(60)
    assert out == [False, False, True, False, False, False, True]


def test_streak_state_is_dropped_when_threshold_breaks(make) -> None:
    clock = Clock()
    det = make(rule("cpu", HIGH_CPU), clock=clock)
    for i in range(50):
        det.process(metric("cpu_utilization", 0.9, target(f"w{i}")))
    assert det.stats().streaks == 50
    for i in range(50):
        det.process(metric("cpu_utilization", 0.1, target(f"w{i}")))
    assert det.stats().streaks == 0
