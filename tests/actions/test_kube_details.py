"""Details of the Kubernetes actions: PDB refusals retried, undo skips restart-only revisions, savings ledger,
and a mutation interrupted by a crash is checked before it is repeated."""

from __future__ import annotations

import threading
import time
from typing import Any

from tagent.model import StepStatus, WorkloadRef
from tests.actions.harness import CART, Env

POSTGRES = WorkloadRef(kind="StatefulSet", namespace="shop", name="postgres")


class Plans:
    """A PlanBook in memory: what the journal would hand back after a crash."""

    def __init__(self, plan: dict[str, Any] | None = None) -> None:
        self.plan = plan

    def recall(self) -> dict[str, Any] | None:
        return self.plan

    def record(self, plan: dict[str, Any]) -> None:
        self.plan = plan


def test_eviction_refused_by_a_pdb_is_retried_until_it_is_allowed(env: Env) -> None:
    pod = "postgres-0"
    refused = env.registry["kubernetes.evict_pod"].run({"namespace": "shop", "pod": pod},
                                                       env.ctx(POSTGRES, timeout=0.5))
    assert refused.status == StepStatus.failed and "PodDisruptionBudget kept refusing" in refused.detail
    assert refused.data["tries"] > 1
    assert env.store.audit.list()[0].result == "failed"
    # a second replica makes one disruption allowed: the eviction goes through while the step retries
    threading.Timer(0.3, lambda: env.kube.scale("StatefulSet", "shop", "postgres", 2)).start()
    allowed = env.registry["kubernetes.evict_pod"].run({"namespace": "shop", "pod": pod}, env.ctx(POSTGRES, timeout=15))
    assert allowed.status == StepStatus.ok, allowed.detail
    assert allowed.data["tries"] > 1


def test_undo_skips_a_revision_that_only_restarted_the_bad_version(env: Env) -> None:
    original = env.kube.get_deployment_raw("shop", "cart")["spec"]["template"]["spec"]["containers"][0]["image"]
    env.kube.apps.patch_namespaced_deployment("cart", "shop", {"spec": {"template": {"spec": {"containers": [
        {"name": "cart", "image": "golang:bad"}]}}}})
    env.kube.rollout_restart("shop", "cart")  # revision 3: the bad image, restarted
    result = env.registry["kubernetes.rollout_undo"].run({"namespace": "shop", "name": "cart", "kind": "Deployment"},
                                                          env.ctx())
    assert result.status == StepStatus.ok, result.detail
    assert result.data["plan"]["to_revision"] == 1
    image = env.kube.get_deployment_raw("shop", "cart")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == original


def test_scale_down_opens_savings_and_scale_up_closes_them(env: Env) -> None:
    scale = env.registry["kubernetes.scale"]
    down = scale.run({"namespace": "shop", "name": "cart", "kind": "Deployment", "delta": -5, "min_replicas": 1},
                     env.ctx(run_id=None))
    assert down.status == StepStatus.ok and down.data["plan"] == {"replicas": 1, "from_replicas": 2}
    [saving] = env.store.savings.list()
    assert (saving.from_replicas, saving.to_replicas, saving.ended_at) == (2, 1, None)
    up = scale.run({"namespace": "shop", "name": "cart", "kind": "Deployment", "delta": 20, "max_replicas": 3},
                   env.ctx(run_id=None))
    assert up.data["plan"]["replicas"] == 3
    assert env.store.savings.list()[0].ended_at is not None


def test_an_interrupted_restart_that_already_happened_is_not_repeated(env: Env) -> None:
    params = {"namespace": "shop", "name": "cart", "kind": "Deployment"}
    plans = Plans()
    first = env.registry["kubernetes.rollout_restart"].run(params, env.ctx(plans=plans, run_id="r1"))
    assert first.status == StepStatus.ok
    generation = env.kube.get_deployment("shop", "cart").generation
    again = env.registry["kubernetes.rollout_restart"].run(params, env.ctx(plans=plans, run_id="r1", attempt=2))
    assert again.status == StepStatus.ok and "already applied" in again.detail
    assert env.kube.get_deployment("shop", "cart").generation == generation


def test_an_interrupted_delta_scale_is_applied_once(env: Env) -> None:
    params = {"namespace": "shop", "name": "cart", "kind": "Deployment", "delta": 2}
    plans = Plans({"replicas": 4, "from_replicas": 2})  # planned, then the engine died before scaling
    result = env.registry["kubernetes.scale"].run(params, env.ctx(CART, plans=plans, run_id="r2", attempt=2))
    assert result.status == StepStatus.ok and env.kube.get_deployment("shop", "cart").replicas == 4
    again = env.registry["kubernetes.scale"].run(params, env.ctx(CART, plans=plans, run_id="r2", attempt=3))
    assert "already applied" in again.detail and env.kube.get_deployment("shop", "cart").replicas == 4


def test_http_request_refuses_hosts_outside_the_allow_list(env: Env) -> None:
    result = env.registry["http.request"].run({"url": "http://example.com/purge"}, env.ctx())
    assert result.status == StepStatus.failed and "not in allowed_http_hosts" in result.detail


def test_wait_healthy_gives_up_at_its_timeout(env: Env) -> None:
    env.sandbox.inject("crashloop", "shop", "cart")
    deadline = time.monotonic() + 10
    while env.kube.get_deployment("shop", "cart").ready_replicas == 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    result = env.registry["kubernetes.wait_healthy"].run(
        {"namespace": "shop", "name": "cart", "kind": "Deployment"}, env.ctx(timeout=3))
    assert result.status == StepStatus.failed and "not healthy after 3s" in result.detail
