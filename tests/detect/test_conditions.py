"""Each condition type fires on the event it describes, and on nothing else."""

from __future__ import annotations

import pytest

from tagent.detect import Detector
from tagent.model.core import Mode, Severity
from tagent.model.policy import condition_key
from tests.detect.support import alert, k8s, logs, metric, rule, target


def fired(det: Detector, event) -> list[str]:
    return [d.rule for d in det.process(event)]


def test_kubernetes_reason_fires_only_on_that_reason(make) -> None:
    det = make(rule("crash", {"kubernetes": {"reason": "CrashLoopBackOff"}}, severity="critical"))
    [decision] = det.process(k8s("CrashLoopBackOff"))
    assert decision.rule == "crash"
    assert decision.rules_version == "sha1"
    assert decision.target == target()
    assert decision.playbook == "restart-workload"
    assert decision.mode == Mode.auto and decision.severity == Severity.critical
    assert fired(det, k8s("OOMKilled")) == []
    # same reason from another source is not a Kubernetes condition
    assert fired(det, metric("CrashLoopBackOff", 1.0)) == []


def test_kubernetes_event_type(make) -> None:
    det = make(rule("backoff", {"kubernetes": {"reason": "BackOff", "type": "Warning"}}))
    assert fired(det, k8s("BackOff", kind="K8sEvent", type="Warning")) == ["backoff"]
    assert fired(det, k8s("BackOff", kind="K8sEvent", type="Normal")) == []
    assert fired(det, k8s("BackOff", kind="K8sEvent")) == []


@pytest.mark.parametrize(("op", "hit", "miss"), [
    (">", 0.81, 0.8), (">=", 0.8, 0.79), ("<", 0.04, 0.05), ("<=", 0.05, 0.06), ("==", 0.5, 0.51),
    ("!=", 0.3, 0.5),
])
def test_metrics_threshold(make, op: str, hit: float, miss: float) -> None:
    value = 0.5 if op in ("==", "!=") else float(hit if op in ("<=", ">=") else miss)
    det = make(rule("cpu", {"metrics": {"name": "cpu_utilization", "op": op, "value": value}}))
    assert fired(det, metric("cpu_utilization", hit)) == ["cpu"]
    assert fired(det, metric("cpu_utilization", miss)) == []
    assert fired(det, metric("memory_utilization", hit)) == []


def test_prometheus_condition_matches_its_condition_key(make) -> None:
    det = make(rule("errors", {"prometheus": {"query": "sum(rate(x[1m]))", "op": ">", "value": 10}}),
               rule("other", {"prometheus": {"query": "sum(rate(y[1m]))", "op": ">", "value": 10}}))
    assert fired(det, metric(condition_key("errors", 0), 11, source="prometheus")) == ["errors"]
    assert fired(det, metric(condition_key("errors", 0), 9, source="prometheus")) == []
    assert fired(det, metric(condition_key("other", 0), 12, source="prometheus")) == ["other"]
    assert fired(det, metric(condition_key("errors", 0), 11, source="metrics")) == []


@pytest.mark.parametrize(("count", "hit", "miss"), [(">10", 11, 10), ("5", 5, 4), ("<=2", 2, 3), ("==3", 3, 4)])
def test_logs_count_threshold(make, count: str, hit: int, miss: int) -> None:
    det = make(rule("http500", {"logs": {"pattern": '" 500 ', "count": count, "window": "1m"}}))
    key = condition_key("http500", 0)
    assert fired(det, logs(key, hit)) == ["http500"]
    assert fired(det, logs(key, miss)) == []
    assert fired(det, logs(condition_key("someone-else", 0), hit)) == []


def test_alert_name_and_label_subset(make) -> None:
    det = make(rule("kube-crash", {"alert": {"alertname": "KubePodCrashLooping",
                                             "labels": {"severity": "critical", "team": "shop"}}}))
    assert fired(det, alert("KubePodCrashLooping", severity="critical", team="shop", pod="p-1")) == ["kube-crash"]
    assert fired(det, alert("KubePodCrashLooping", severity="critical")) == []
    assert fired(det, alert("KubePodCrashLooping", severity="warning", team="shop")) == []
    assert fired(det, alert("KubeNodeNotReady", severity="critical", team="shop")) == []


def test_disabled_rule_is_skipped(make) -> None:
    det = make(rule("off", {"kubernetes": {"reason": "OOMKilled"}}, enabled=False),
               rule("on", {"kubernetes": {"reason": "OOMKilled"}}, mode="notify", then={}))
    [decision] = det.process(k8s("OOMKilled"))
    assert decision.rule == "on" and decision.playbook is None and decision.mode == Mode.notify
    assert det.stats().rules == 1


def test_every_rule_on_the_same_event_fires(make) -> None:
    """durable consumes an event with the first rule it completes; lanes keep that from hiding rules."""
    det = make(*(rule(f"crash-{i}", {"kubernetes": {"reason": "CrashLoopBackOff"}}) for i in range(4)),
               rule("oom", {"kubernetes": {"reason": "OOMKilled"}}))
    assert sorted(fired(det, k8s("CrashLoopBackOff"))) == [f"crash-{i}" for i in range(4)]
    assert fired(det, k8s("OOMKilled")) == ["oom"]
    assert det.stats().rulesets == 4


def test_unmatched_events_never_raise(make) -> None:
    det = make(rule("crash", {"kubernetes": {"reason": "CrashLoopBackOff"}}))
    for event in (k8s("Pulled"), metric("cpu_utilization", float("nan")), logs("x#0", 1), alert("Watchdog")):
        assert det.process(event) == []


def test_many_labels_are_not_a_problem(make) -> None:
    """durable caps an event at 255 properties; only the labels rules name are projected."""
    det = make(rule("crash", {"kubernetes": {"reason": "CrashLoopBackOff"}}, match={"selector": {"app": "cart"}}))
    labels = {f"example.com/label-{i}": str(i) for i in range(400)}
    assert fired(det, k8s("CrashLoopBackOff", app="cart", **labels)) == ["crash"]


def test_duplicate_names_are_refused_even_when_one_is_disabled() -> None:
    import pytest

    from tagent.detect import compile_plan
    from tagent.errors import ValidationError

    crash = {"kubernetes": {"reason": "CrashLoopBackOff"}}
    with pytest.raises(ValidationError, match="defined twice"):
        compile_plan([rule("crash", crash), rule("crash", crash, enabled=False)], "v", ["kube-system"])
