"""`all` + `within`: conditions in order, inside the window, per workload; one decision per sequence."""

from __future__ import annotations

from tagent.detect import Detector
from tests.detect.support import Clock, k8s, metric, rule, target

BAD_DEPLOY = {"all": [{"kubernetes": {"reason": "RolloutStarted"}},
                      {"metrics": {"name": "error_rate", "op": ">", "value": 0.05}}],
              "within": "10m"}


def rollout(tgt=None):
    return k8s("RolloutStarted", tgt, kind="Rollout")


def test_rollout_then_errors_within_window_is_one_decision(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY, then={"playbook": "rollback-workload"}), clock=clock)
    started = rollout()
    assert det.process(started) == []
    clock.advance(120)
    assert det.process(metric("error_rate", 0.01)) == []  # below threshold: not a step
    clock.advance(120)
    bad = metric("error_rate", 0.2)
    [decision] = det.process(bad)
    assert decision.rule == "bad-deploy" and decision.playbook == "rollback-workload"
    assert decision.event_ids == [started.id, bad.id]
    # the rollout was consumed: more bad samples are not more decisions
    assert det.process(metric("error_rate", 0.3)) == []
    # nothing waits: an error sample with no rollout before it can never complete the sequence
    assert det.stats().held_events == 0 and det.stats().pending_sequences == 0


def test_order_matters(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY), clock=clock)
    assert det.process(metric("error_rate", 0.2)) == []
    clock.advance(10)
    started = rollout()
    assert det.process(started) == []  # errors before the rollout do not count
    clock.advance(10)
    late = metric("error_rate", 0.2)
    assert [d.event_ids for d in det.process(late)] == [[started.id, late.id]]


def test_window_expiry(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY), clock=clock)
    det.process(rollout())
    clock.advance(601)
    assert det.process(metric("error_rate", 0.5)) == []
    clock.advance(601)
    det.process(k8s("Pulled"))  # any event lets the detector expire old steps
    stats = det.stats()
    assert stats.held_events == 0 and stats.pending_sequences == 0 and stats.sessions == 0


def test_expiry_keeps_steps_still_inside_the_window(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY), clock=clock)
    det.process(rollout())
    clock.advance(540)
    second = rollout()
    det.process(second)
    clock.advance(120)  # the first rollout expired (11 min), the second (2 min) did not
    det.process(k8s("Pulled"))
    bad = metric("error_rate", 0.5)
    assert [d.event_ids for d in det.process(bad)] == [[second.id, bad.id]]


def test_sequences_do_not_mix_workloads(make) -> None:
    clock = Clock()
    det = make(rule("bad-deploy", BAD_DEPLOY), clock=clock)
    det.process(rollout(target("a")))
    assert det.process(metric("error_rate", 0.9, target("b"))) == []
    assert [d.target.name for d in det.process(metric("error_rate", 0.9, target("a")))] == ["a"]


def test_all_without_within_and_three_steps(make) -> None:
    clock = Clock()
    det = make(rule("oom-twice-then-crash", {"all": [{"kubernetes": {"reason": "OOMKilled"}},
                                                    {"kubernetes": {"reason": "OOMKilled"}},
                                                    {"kubernetes": {"reason": "CrashLoopBackOff"}}]}),
               clock=clock)
    assert det.process(k8s("OOMKilled")) == []
    assert det.process(k8s("CrashLoopBackOff")) == []
    clock.advance(3600)
    assert det.process(k8s("OOMKilled")) == []
    [decision] = det.process(k8s("CrashLoopBackOff"))
    assert len(decision.event_ids) == 3


def test_more_than_1024_workloads(make) -> None:
    """durable holds at most 1,024 sessions per ruleset: sequences share one session and join on the workload."""
    clock = Clock()
    det: Detector = make(rule("bad-deploy", BAD_DEPLOY),
                         rule("crash", {"kubernetes": {"reason": "CrashLoopBackOff"}}), clock=clock)
    workloads = [target(f"w{i}") for i in range(2500)]
    for w in workloads:
        assert det.process(rollout(w)) == []
        assert [d.rule for d in det.process(k8s("CrashLoopBackOff", w))] == ["crash"]
    stats = det.stats()
    assert stats.pending_sequences == 2500 and stats.held_events == 2500
    assert stats.sessions == 2 and stats.rulesets == 2  # one shared session per ruleset
    clock.advance(60)
    decided = [d.target for w in workloads for d in det.process(metric("error_rate", 0.2, w))]
    assert decided == workloads
    assert det.stats().held_events == 0 and det.stats().pending_sequences == 0
