"""`then.params` rendering: sandboxed, typed when a value is one expression, errors on the decision."""

from __future__ import annotations

from tagent.model.core import Mode
from tests.detect.support import k8s, rule, target

CRASH = {"kubernetes": {"reason": "CrashLoopBackOff"}}


def decide(make, params: dict, event=None):
    det = make(rule("crash", CRASH, then={"playbook": "restart-workload", "params": params}, mode="approve"))
    [decision] = det.process(event or k8s("CrashLoopBackOff", app="cart"))
    return decision


def test_params_see_event_target_and_rule(make) -> None:
    event = k8s("CrashLoopBackOff", target("cart", "shop"), app="cart").model_copy(update={"values": {"restarts": 7}})
    d = decide(make, {
        "reason": "{{ event.reason }} ({{ event.values.restarts | int }} restarts)",
        "restarts": "{{ event.values.restarts | int }}",
        "where": "{{ target.namespace }}/{{ target.name }}",
        "rule": "{{ rule.name }}:{{ rule.severity }}",
        "app": "{{ event.labels.app }}",
        "nested": {"list": ["{{ target.name }}", 3], "flag": True},
        "plain": 2,
    }, event)
    assert d.playbook == "restart-workload" and d.mode == Mode.approve
    assert d.params == {"reason": "CrashLoopBackOff (7 restarts)", "restarts": 7, "where": "shop/cart",
                        "rule": "crash:warning", "app": "cart", "nested": {"list": ["cart", 3], "flag": True},
                        "plain": 2}


def test_undefined_name_is_an_error_on_the_decision_not_a_crash(make) -> None:
    d = decide(make, {"reason": "{{ event.values.restarts }}"})
    assert d.playbook is None and d.mode == Mode.notify
    assert d.params["playbook"] == "restart-workload"
    assert "params.reason" in d.params["error"] and "restarts" in d.params["error"]


def test_syntax_error_is_an_error_on_every_decision(make) -> None:
    d = decide(make, {"reason": "{{ event.reason "})
    assert d.playbook is None and "template syntax error" in d.params["error"]


def test_sandbox_refuses_unsafe_access(make) -> None:
    d = decide(make, {"x": "{{ event.__class__.__mro__ }}"})
    assert d.playbook is None and "params.x" in d.params["error"]


def test_runtime_errors_are_caught(make) -> None:
    d = decide(make, {"x": "{{ 1 / 0 }}"})
    assert d.playbook is None and "ZeroDivisionError" in d.params["error"]


def test_default_filter_still_works_under_strict_undefined(make) -> None:
    d = decide(make, {"n": "{{ event.values.missing | default(0) }}"})
    assert d.params == {"n": 0}
