"""Every action of the catalog through the same contract (one table, apprise-style harness):

- valid parameters against the real backend give the expected status, the kubectl/CLI equivalent, timing,
  and the effect really happened (and, for mutations, an audit record with the command);
- an unknown parameter fails before anything happens;
- a mutation the guard refuses is `blocked` with the guard's reason and changes nothing;
- a mutation in dry-run is `dry_run` with the command, audited as dry-run, and changes nothing;
- without its backend configured, an action fails with a clear "not configured".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from tagent.actions import CATALOG, IMPLEMENTATIONS
from tagent.model import StepStatus
from tagent.store import ApprovalStatus
from tests.actions.harness import Env
from tests.cloud.motoserver import REGION, MotoAws

Params = Callable[[Env], dict[str, Any]]
Probe = Callable[[Env], Any]  # state before; `changed(env, before)` says whether the effect happened


def _first_cart_pod(env: Env) -> str:
    return sorted(p.name for p in env.kube.list_pods("shop", {"app": "cart"}))[0]


def _cart_pods(env: Env) -> set[str]:
    return {p.name for p in env.kube.list_pods("shop", {"app": "cart"}) if not p.deleting}


def _restarted_at(env: Env) -> str | None:
    d = env.kube.get_deployment_raw("shop", "cart")
    return (d["spec"]["template"]["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/restartedAt")


def _cart_image(env: Env) -> str:
    return str(env.kube.get_deployment_raw("shop", "cart")["spec"]["template"]["spec"]["containers"][0]["image"])


def _new_image(env: Env) -> dict[str, Any]:
    body = {"spec": {"template": {"spec": {"containers": [{"name": "cart", "image": "golang:1.23"}]}}}}
    env.kube.apps.patch_namespaced_deployment("cart", "shop", body)
    return {"namespace": "shop", "name": "cart", "kind": "Deployment"}


def _redis_keys(env: Env) -> int:
    client = redis.Redis.from_url(str(env.deps.redis_url))
    try:
        client.set("basket:1", "x")
        return int(client.dbsize())
    finally:
        client.close()


def _dbsize(env: Env) -> int:
    client = redis.Redis.from_url(str(env.deps.redis_url))
    try:
        return int(client.dbsize())
    finally:
        client.close()


def _moto(env: Env) -> MotoAws:
    moto: MotoAws = env.extra["moto"]
    return moto


def _running(env: Env) -> dict[str, Any]:
    return {"instance_id": _moto(env).launch("contract"), "region": REGION}


def _stopped(env: Env) -> dict[str, Any]:
    params = _running(env)
    _moto(env).stop(params["instance_id"])
    return params


def _state(env: Env) -> dict[str, str]:
    ec2 = _moto(env).client("ec2")
    return {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]}


def _group(env: Env) -> dict[str, Any]:
    name = f"contract-{len(_moto(env).client('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups'])}"
    _moto(env).group(name, minimum=1, maximum=5, desired=2)
    return {"group": name, "region": REGION, "desired": 4}


def _desired(env: Env) -> dict[str, int]:
    groups = _moto(env).client("autoscaling").describe_auto_scaling_groups()["AutoScalingGroups"]
    return {g["AutoScalingGroupName"]: g["DesiredCapacity"] for g in groups}


def _now_in(states: set[str]) -> Callable[[Env, Any], bool]:
    """The newest instance (the one the case launched) moved into `states`."""
    return lambda e, b: any(s in states and b.get(i) != s for i, s in _state(e).items())


def _rebooted(env: Env, before: dict[str, str]) -> bool:
    """moto keeps no trace of a reboot: the instance must still run and a real reboot must be audited."""
    rebooted = [a.target_key.rsplit("/", 1)[-1] for a in env.store.audit.list()
                if a.action == "aws.ec2_reboot" and not a.dry_run and a.result == "ok"]
    return bool(rebooted) and all(_state(env).get(i) == "running" for i in rebooted)


@dataclass(frozen=True)
class Case:
    action: str
    params: Params
    status: StepStatus
    before: Probe
    changed: Callable[[Env, Any], bool]
    needs: str = ""  # the ActionDeps field without which it cannot work


CASES = [
    Case("kubernetes.rollout_restart", lambda e: {"namespace": "shop", "name": "cart", "kind": "Deployment"},
         StepStatus.ok, _restarted_at, lambda e, b: _restarted_at(e) not in (None, b), "kube"),
    Case("kubernetes.delete_pod", lambda e: {"namespace": "shop", "pod": _first_cart_pod(e), "grace_period": 0},
         StepStatus.ok, _cart_pods, lambda e, b: not b <= _cart_pods(e), "kube"),
    Case("kubernetes.evict_pod", lambda e: {"namespace": "shop", "pod": _first_cart_pod(e)},
         StepStatus.ok, _cart_pods, lambda e, b: not b <= _cart_pods(e), "kube"),
    Case("kubernetes.rollout_undo", _new_image, StepStatus.ok, _cart_image,
         lambda e, b: _cart_image(e) != b, "kube"),
    Case("kubernetes.scale", lambda e: {"namespace": "shop", "name": "cart", "kind": "Deployment", "replicas": 4},
         StepStatus.ok, lambda e: e.kube.get_deployment("shop", "cart").replicas,
         lambda e, b: e.kube.get_deployment("shop", "cart").replicas == 4 != b, "kube"),
    Case("kubernetes.delete_deployment", lambda e: {"namespace": "test", "name": "test-env"}, StepStatus.ok,
         lambda e: [d.ref.name for d in e.kube.list_deployments("test")],
         lambda e, b: "test-env" in b and "test-env" not in [d.ref.name for d in e.kube.list_deployments("test")],
         "kube"),
    Case("kubernetes.wait_healthy", lambda e: {"namespace": "shop", "name": "cart", "kind": "Deployment"},
         StepStatus.ok, lambda e: None, lambda e, b: True, "kube"),
    Case("redis.flushdb", lambda e: {"db": 0}, StepStatus.ok, _redis_keys, lambda e, b: b > 0 and _dbsize(e) == 0,
         "redis_url"),
    Case("http.request", lambda e: {"url": f"http://127.0.0.1:{e.hooks.port}/purge", "body": '{"all": true}'},
         StepStatus.ok, lambda e: len(e.hooks.requests),
         lambda e, b: len(e.hooks.requests) > b and "idempotency-key" in e.hooks.requests[-1].headers, ""),
    Case("prometheus.verify", lambda e: {"query": "vector(1)", "op": "==", "value": 1, "within": "2s"},
         StepStatus.ok, lambda e: None, lambda e, b: True, "prometheus"),
    Case("notify.send", lambda e: {"message": "cart was restarted", "channels": ["slack-oncall"]},
         StepStatus.ok, lambda e: len(e.hooks.messages()),
         lambda e, b: len(e.hooks.messages()) == b + 1 and "cart was restarted" in e.hooks.messages()[-1].text,
         "notifier"),
    Case("notify.page", lambda e: {"message": "cart is down", "call": "oncall-phone"},
         StepStatus.ok, lambda e: len(e.twilio.calls), lambda e, b: len(e.twilio.calls) == b + 1, "caller"),
    Case("approval.request", lambda e: {"message": "restart cart?"}, StepStatus.approval_required,
         lambda e: len(e.store.approvals.pending()),
         lambda e, b: len(e.store.approvals.pending()) == b + 1
         and e.store.approvals.pending()[-1].status == ApprovalStatus.pending, ""),
    Case("wait", lambda e: {"duration": "50ms"}, StepStatus.ok, lambda e: None, lambda e, b: True, ""),
    Case("aws.ec2_stop", _running, StepStatus.ok, _state, _now_in({"stopping", "stopped"}), "aws"),
    Case("aws.ec2_start", _stopped, StepStatus.ok, _state, _now_in({"pending", "running"}), "aws"),
    Case("aws.ec2_reboot", _running, StepStatus.ok, _state, _rebooted, "aws"),
    Case("aws.asg_set_capacity", _group, StepStatus.ok, _desired,
         lambda e, b: any(d == 4 and b.get(n) == 2 for n, d in _desired(e).items()), "aws"),
]
BY_NAME = {c.action: c for c in CASES}


def test_the_table_covers_the_whole_catalog() -> None:
    assert set(BY_NAME) == set(CATALOG) == {cls.name for cls in IMPLEMENTATIONS}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.action)
def test_runs_with_real_backend_and_reports(env: Env, case: Case) -> None:
    params = case.params(env)
    before = case.before(env)
    result = env.registry[case.action].run(params, env.ctx(run_id=None))
    assert result.status == case.status, result.detail
    assert result.command and result.command.split()[0] == CATALOG[case.action].command.split()[0]
    assert "{" not in result.command, result.command  # every placeholder filled
    assert result.started_at <= result.finished_at and "duration_s" in result.data
    assert case.changed(env, before), f"{case.action} had no effect: {result.detail}"
    audit = env.store.audit.list()
    if CATALOG[case.action].mutates:
        assert audit and audit[0].action == case.action and audit[0].command == result.command
        assert audit[0].result == "ok" and not audit[0].dry_run
    else:
        assert all(a.action != case.action for a in audit)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.action)
def test_unknown_parameter_fails_before_acting(env: Env, case: Case) -> None:
    params = {**case.params(env), "replicaz": 3}
    before = case.before(env)
    result = env.registry[case.action].run(params, env.ctx())
    assert result.status == StepStatus.failed
    assert "invalid parameters" in result.detail and "replicaz" in result.detail
    if case.action not in ("kubernetes.wait_healthy", "prometheus.verify", "wait"):
        assert not case.changed(env, before)


MUTATING = [c for c in CASES if CATALOG[c.action].mutates]


@pytest.mark.parametrize("case", MUTATING, ids=lambda c: c.action)
def test_guard_refusal_blocks_and_changes_nothing(env: Env, case: Case) -> None:
    strict = env.variant(rate_limit_global_per_hour=0)
    params = case.params(strict)
    before = case.before(strict)
    result = strict.registry[case.action].run(params, strict.ctx())
    assert result.status == StepStatus.blocked
    assert "rate_limit_global" in result.detail
    assert not case.changed(strict, before)
    assert strict.store.audit.list() == []


@pytest.mark.parametrize("case", MUTATING, ids=lambda c: c.action)
def test_dry_run_reports_the_command_and_changes_nothing(env: Env, case: Case) -> None:
    dry = env.variant(dry_run=True)
    params = case.params(dry)
    before = case.before(dry)
    result = dry.registry[case.action].run(params, dry.ctx())
    assert result.status == StepStatus.dry_run
    assert result.command and result.command in result.detail
    assert not case.changed(dry, before)
    audit = dry.store.audit.list()
    assert len(audit) == 1 and audit[0].dry_run and audit[0].command == result.command


@pytest.mark.parametrize("case", [c for c in CASES if c.needs], ids=lambda c: c.action)
def test_missing_backend_is_a_clear_failure(env: Env, case: Case) -> None:
    params = case.params(env)
    bare = env.variant(**{case.needs: None})
    result = bare.registry[case.action].run(params, bare.ctx())
    assert result.status == StepStatus.failed
    assert "not configured" in result.detail
