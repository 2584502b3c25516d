"""The default pack in rules/ and playbooks/ validates clean and does what issue 3 asks of it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tagent.model.core import Event, EventSource, Mode, Severity, WorkloadRef
from tagent.model.policy import Rule
from tagent.policy.ruleset import RuleSet
from tagent.policy.templates import environment
from tagent.policy.validate import check_paths
from tests.policy.paths import REPO


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    result = check_paths([REPO / "rules", REPO / "playbooks"], relative_to=REPO)
    assert [str(p) for p in result.problems] == []
    assert result.ruleset is not None
    return result.ruleset


def test_the_pack_covers_every_scenario_of_the_issue(pack: RuleSet) -> None:
    def rule(name: str) -> Rule:
        return pack.rules[name]

    crash = rule("crashloop-restart")
    assert crash.spec.when.kubernetes is not None and crash.spec.when.kubernetes.reason == "CrashLoopBackOff"
    assert crash.spec.mode == Mode.auto and crash.spec.then.playbook == "restart-workload"

    spike = rule("error-spike-rollback")
    logs = spike.spec.when.logs
    assert logs is not None and logs.threshold() == (">", 10) and logs.window == 60
    assert spike.spec.mode == Mode.approve and spike.spec.then.playbook == "rollback-workload"
    assert re.search(logs.pattern, '10.1.0.7 - - [01/Jan/2025:10:00:00 +0000] "GET /pay HTTP/1.1" 500 17')
    assert not re.search(logs.pattern, '10.1.0.7 - - [01/Jan/2025:10:00:00 +0000] "GET /pay HTTP/1.1" 200 500')

    deploy = rule("bad-deploy-rollback")
    conds = deploy.spec.when.conditions
    assert [c.key for c in conds] == ["kubernetes", "metrics"] and deploy.spec.when.within == 600
    assert conds[0].kubernetes is not None and conds[0].kubernetes.reason == "RolloutStarted"
    assert conds[1].metrics is not None and (conds[1].metrics.name, conds[1].metrics.op) == ("error_rate", ">")
    assert {rule(n).spec.then.playbook for n in ("image-pull-rollback", "rollout-stalled-rollback")} == {
        "rollback-workload"}

    oom = rule("oomkilled-restart")
    book = pack.playbook_for(oom)
    assert book is not None and [s.action for s in book.spec.steps] == [
        "kubernetes.rollout_restart", "kubernetes.wait_healthy", "notify.send"]

    hot = rule("high-cpu-scale-up").spec.when.metrics
    assert hot is not None and (hot.name, hot.op, hot.value, hot.for_) == ("cpu_utilization", ">", 0.8, 300)
    idle = rule("idle-scale-down")
    assert idle.spec.when.metrics is not None and idle.spec.when.metrics.for_ == 3600
    assert idle.spec.when.metrics.value == 0.05 and idle.spec.match.namespaces == ["test"]

    policy = pack.default_policy()
    assert policy is not None and policy.spec.night is not None
    assert (policy.spec.night.from_, policy.spec.night.to, policy.spec.night.timezone) == (
        "22:00", "07:00", "Asia/Kolkata")
    assert [(r.severity, r.notify, r.call) for r in policy.spec.routes] == [
        ([Severity.warning, Severity.critical], ["slack-oncall", "teams-sre"], None),
        ([Severity.critical], [], "oncall-phone")]
    assert policy.spec.ack_timeout == 300 and policy.spec.on_no_ack == "remediate"


def _sample_event(rule: Rule) -> Event:
    cond = rule.spec.when.conditions[-1]
    source = EventSource(cond.key)  # condition keys are named after sources
    reason = cond.kubernetes.reason if cond.kubernetes else (cond.metrics.name if cond.metrics else f"{rule.name}#0")
    return Event(source=source, kind="Sample", reason=reason, target=WorkloadRef(namespace="shop", name="api"),
                 labels={"app": "api", "pod": "api-7d9-x2"}, values={"value": 0.9, "count": 12, "restarts": 5},
                 message="sample")


def _render(value: Any, context: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return environment().from_string(value).render(context)
    if isinstance(value, dict):
        return {k: _render(v, context) for k, v in value.items()}
    return value


def test_every_template_in_the_pack_renders_for_a_matching_event(pack: RuleSet) -> None:
    """StrictUndefined: a template reaching for a missing name would raise here, not at 3 a.m."""
    for rule in pack.rules.values():
        event = _sample_event(rule)
        base = {"event": event.model_dump(mode="json"), "target": event.target.model_dump(),
                "rule": {"name": rule.name, "severity": rule.spec.severity.value}}
        book = pack.playbook_for(rule)
        if book is None:  # a notify-only rule: nothing runs, nothing to render
            assert rule.spec.mode == Mode.notify and not rule.spec.then.playbook and not rule.spec.then.params
            continue
        params = {k: spec.default for k, spec in book.spec.params.items()}
        params.update(_render(rule.spec.then.params, base))
        context = {**base, "params": params}
        for step in [*book.spec.steps, *book.spec.on_failure]:
            rendered = _render(step.with_, context)
            assert "{{" not in str(rendered)
            if "name" in rendered:
                assert rendered["name"] == "api" and rendered["namespace"] == "shop"
