"""`match` scope: namespaces (default: all but the protected ones), selector ⊆ labels, kinds."""

from __future__ import annotations

from tests.detect.support import k8s, metric, rule, target

CRASH = {"kubernetes": {"reason": "CrashLoopBackOff"}}


def fires(det, event) -> bool:
    return bool(det.process(event))


def test_default_scope_skips_protected_namespaces(make) -> None:
    det = make(rule("crash", CRASH))
    assert fires(det, k8s("CrashLoopBackOff", target(namespace="shop")))
    assert fires(det, k8s("CrashLoopBackOff", target(namespace="payments")))
    assert not fires(det, k8s("CrashLoopBackOff", target(namespace="kube-system")))
    assert not fires(det, k8s("CrashLoopBackOff", target(namespace="tagent")))


def test_node_events_have_no_namespace_and_match_the_default_scope(make) -> None:
    det = make(rule("node-down", {"kubernetes": {"reason": "NodeNotReady"}}))
    node = target("node-1", namespace="", kind="Node")
    [decision] = det.process(k8s("NodeNotReady", node, kind="Node"))
    assert decision.target == node


def test_explicit_namespaces(make) -> None:
    det = make(rule("idle", {"metrics": {"name": "cpu_utilization", "op": "<", "value": 0.05}},
                    match={"namespaces": ["test", "staging"]}))
    assert fires(det, metric("cpu_utilization", 0.01, target(namespace="test")))
    assert fires(det, metric("cpu_utilization", 0.01, target(namespace="staging")))
    assert not fires(det, metric("cpu_utilization", 0.01, target(namespace="shop")))


def test_selector_is_a_subset_of_the_event_labels(make) -> None:
    det = make(rule("pay", CRASH, match={"selector": {"app": "payment-service", "tier": "backend"}}))
    assert fires(det, k8s("CrashLoopBackOff", app="payment-service", tier="backend", pod="p-1"))
    assert not fires(det, k8s("CrashLoopBackOff", app="payment-service"))
    assert not fires(det, k8s("CrashLoopBackOff", app="cart", tier="backend"))


def test_selector_keys_with_dots_and_slashes(make) -> None:
    det = make(rule("named", CRASH, match={"selector": {"app.kubernetes.io/name": "cart"}}))
    assert fires(det, k8s("CrashLoopBackOff", **{"app.kubernetes.io/name": "cart"}))
    assert not fires(det, k8s("CrashLoopBackOff", **{"app.kubernetes.io/name": "web"}))
    assert not fires(det, k8s("CrashLoopBackOff", name="cart"))


def test_kinds(make) -> None:
    det = make(rule("sts", CRASH, match={"kinds": ["StatefulSet"]}))
    assert fires(det, k8s("CrashLoopBackOff", target("db", kind="StatefulSet")))
    assert not fires(det, k8s("CrashLoopBackOff", target("web", kind="Deployment")))


def test_scope_applies_to_every_step_of_a_sequence(make) -> None:
    det = make(rule("bad-deploy", {"all": [{"kubernetes": {"reason": "RolloutStarted"}},
                                           {"metrics": {"name": "error_rate", "op": ">", "value": 0.05}}],
                                   "within": "10m"}, match={"selector": {"team": "shop"}}))
    tgt = target("web")
    assert not fires(det, k8s("RolloutStarted", tgt, kind="Rollout", team="shop"))
    assert not fires(det, metric("error_rate", 0.5, tgt, team="other"))
    assert fires(det, metric("error_rate", 0.5, tgt, team="shop"))


def test_protected_namespaces_are_a_parameter(make) -> None:
    from tagent.detect import Detector

    det = Detector([rule("crash", CRASH)], "v", protected_namespaces=["shop"])
    try:
        assert not fires(det, k8s("CrashLoopBackOff", target(namespace="shop")))
        assert fires(det, k8s("CrashLoopBackOff", target(namespace="kube-system")))
    finally:
        det.close()
