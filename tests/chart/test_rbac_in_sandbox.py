"""The chart's RBAC, enforced: the engine runs on the sandbox with a token that has only what the rendered
manifests bind to its ServiceAccount, and still does its job.

The chart is rendered with the chart tests' helper; the ClusterRole rules reach the token through
the rendered bindings (as the API server would resolve them), the engine gets the chart's safety settings
(TAGENT_DRY_RUN, protected namespaces, rate limits) from the rendered Deployment's env, and the sandbox
records every request it refuses. Default values: a crash loop is restarted and a bad deploy rolled back,
with no 403 at all. readOnly: both are still detected, nothing is mutated and nothing is even attempted.
Separately, each Kubernetes mutation of the action catalog is done through KubeClient with the chart's
token, so a verb the engine needs and the chart lacks shows up here by name.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.clients.kubernetes import KubeClient
from tagent.demo.night import night_start
from tagent.errors import PermanentError
from tagent.model import Incident, IncidentStatus, utcnow
from tagent.sandbox import Sandbox, kinds
from tagent.sandbox.rbac import Bound, bound_to_service_account
from tagent.sandbox.receivers import LocalReceivers
from tagent.settings import Settings
from tagent.store import Store
from tests.chart.render import MUTATING_VERBS, RELEASE, Rendered, render
from tests.chart.value_sets import VALUE_SETS
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
TOKEN = "chart-service-account-token"
SPEED = 60.0  # 5 sandbox minutes (the escalation's ack timeout) in 5 s
# The engine's env entries from the chart that decide what it may do (paths and ports are the pod's own).
SAFETY_ENV = ("TAGENT_DRY_RUN", "TAGENT_PROTECTED_NAMESPACES", "TAGENT_EXCLUDED_NAMESPACES",
              "TAGENT_PROTECTED_WORKLOADS", "TAGENT_RATE_LIMIT_GLOBAL_PER_HOUR",
              "TAGENT_RATE_LIMIT_NAMESPACE_PER_HOUR", "TAGENT_MAINTENANCE_WINDOWS")
READS = {"get", "list", "watch"}


@dataclass
class ChartCluster:
    rendered: Rendered
    bound: Bound
    sandbox: Sandbox
    engine: Engine
    admin: KubeClient

    def incident(self, name: str) -> Incident | None:
        """The newest incident on shop/NAME, with its timeline."""
        found = [i for i in self.engine.store.incidents.list(limit=100) if i.target.name == name]
        return self.engine.store.incidents.get(found[0].id) if found else None

    def engine_calls(self) -> dict[tuple[str, str, str, bool], int]:
        return dict(self.sandbox.authz.calls(self.bound.user))


def steps(incident: Incident) -> list[tuple[str, str]]:
    return [(str(e.data.get("action")), str(e.data.get("status"))) for e in incident.timeline if e.kind == "step"]


def bind_chart_role(rendered: Rendered, sandbox: Sandbox) -> Bound:
    sa = rendered.get("ServiceAccount", RELEASE)["metadata"]
    assert rendered.deployment("engine")["spec"]["template"]["spec"]["serviceAccountName"] == sa["name"]
    bound = bound_to_service_account(rendered.objects, sa["namespace"], sa["name"])
    assert bound.rules and not bound.roles  # the ClusterRole only: the chart has no namespaced Role
    sandbox.add_token(TOKEN, bound.rules, roles=bound.roles, user=bound.user)
    return bound


def evening_deploy(admin: KubeClient) -> None:
    """A good release earlier (what `kubectl set image` does), so a rollback has a version to go back to."""
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "node:20.11"}]
    admin.call_json("set image", admin.apps.patch_namespaced_deployment, "checkout", "shop", patch,
                    _content_type="application/json-patch+json")


@pytest.fixture
def chart_cluster(request: pytest.FixtureRequest, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[ChartCluster]:
    rendered = render(request.param)
    sandbox = Sandbox(speed=SPEED, start=night_start(utcnow())).start()  # Night Mode acts when nobody answers
    receivers = LocalReceivers().start()
    admin = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(tmp_path / "admin.kubeconfig"))
    engine: Engine | None = None
    try:
        bound = bind_chart_role(rendered, sandbox)
        evening_deploy(admin)
        env = rendered.env("engine")
        for name in SAFETY_ENV:
            monkeypatch.setenv(name, env[name]["value"])
        rules = tmp_path / "pack"
        for part in ("rules", "playbooks"):
            shutil.copytree(REPO / part, rules / part)
        settings = Settings(rules=str(rules), kubeconfig=sandbox.write_kubeconfig(tmp_path / "engine.kubeconfig",
                                                                                  token=TOKEN),
                            data_dir=tmp_path / "data", metrics_scrape_url=sandbox.metrics_url,
                            **receivers.settings_overrides(with_llm=False))
        assert settings.dry_run is (env["TAGENT_DRY_RUN"]["value"] == "true")
        engine = build_engine(settings, store=Store.open(f"sqlite:///{tmp_path / 'tagent.db'}"),
                              clock=sandbox.clock.now, source_interval=0.5)
        engine.start()
        yield ChartCluster(rendered, bound, sandbox, engine, admin)
    finally:
        if engine is not None:
            engine.stop()
            engine.store.close()
            engine.kube.close()
        admin.close()
        receivers.stop()
        sandbox.stop()


@pytest.mark.parametrize("chart_cluster", [{}], indirect=True, ids=["default-values"])
def test_with_the_chart_role_the_engine_restarts_and_rolls_back_without_a_403(chart_cluster: ChartCluster) -> None:
    c = chart_cluster
    c.sandbox.inject("crashloop", "shop", "payment-service")
    c.sandbox.inject("bad-deploy", "shop", "checkout")

    def done(name: str) -> Incident | None:
        incident = c.incident(name)
        ended = incident is not None and incident.status in (IncidentStatus.resolved, IncidentStatus.failed)
        return incident if ended else None

    restarted = wait_for(lambda: done("payment-service"), 60, "the crash loop's incident to end")
    rolled_back = wait_for(lambda: done("checkout"), 60, "the bad deploy's incident to end")
    assert c.sandbox.forbidden() == []
    assert restarted.status == IncidentStatus.resolved, steps(restarted)
    assert ("kubernetes.rollout_restart", "ok") in steps(restarted)
    assert rolled_back.status == IncidentStatus.resolved, steps(rolled_back)
    assert ("kubernetes.rollout_undo", "ok") in steps(rolled_back)
    checkout = c.admin.get_deployment_raw("shop", "checkout")
    assert checkout["spec"]["template"]["spec"]["containers"][0]["image"] == "node:20.11"  # the evening's release
    # the chart's token did the work, and every request it made was one the chart grants
    calls = c.engine_calls()
    assert calls.get(("patch", "apps", "deployments", True), 0) >= 2
    assert {("list", "", "pods", True), ("watch", "", "pods", True), ("list", "apps", "replicasets", True),
            ("get", "", "pods/log", True), ("list", "metrics.k8s.io", "pods", True)} <= set(calls)
    assert not [call for call in calls if not call[3]]
    assert c.sandbox.forbidden() == []


@pytest.mark.parametrize("chart_cluster", [VALUE_SETS["read-only"]], indirect=True, ids=["read-only"])
def test_read_only_still_detects_and_attempts_no_mutation(chart_cluster: ChartCluster) -> None:
    c = chart_cluster
    assert c.engine.settings.dry_run is True
    c.sandbox.inject("crashloop", "shop", "payment-service")
    c.sandbox.inject("bad-deploy", "shop", "checkout")
    before = {name: c.sandbox.store.get(kinds.DEPLOYMENTS, "shop", name) for name in ("payment-service", "checkout")}

    def proposed(name: str, action: str) -> Incident | None:
        incident = c.incident(name)
        return incident if incident is not None and (action, "dry_run") in steps(incident) else None

    restart = wait_for(lambda: proposed("payment-service", "kubernetes.rollout_restart"), 60,
                       "a dry-run restart of the crash-looping deployment")
    rollback = wait_for(lambda: proposed("checkout", "kubernetes.rollout_undo"), 60,
                        "a dry-run rollback of the bad deploy")
    assert restart.rule == "crashloop-restart"
    assert rollback.rule in ("bad-deploy-rollback", "error-spike-rollback")
    acted = [s for s in steps(restart) + steps(rollback) if s[1] == "ok" and s[0] != "kubernetes.wait_healthy"
             and s[0].startswith("kubernetes.")]
    assert acted == []
    for name, old in before.items():
        now = c.sandbox.store.get(kinds.DEPLOYMENTS, "shop", name)
        assert now["metadata"]["generation"] == old["metadata"]["generation"], name
        assert now["spec"]["template"] == old["spec"]["template"], name
    calls = c.engine_calls()
    assert calls  # the engine did read through the chart's token
    assert {verb for verb, _, _, _ in calls} <= READS, calls
    assert not {verb for verb, _, _, _ in calls} & MUTATING_VERBS
    assert c.sandbox.forbidden() == []
    # The dry-run playbook goes on to wait for a health the restart it did not do would have brought:
    # heal the workloads so that wait ends and the engine stops promptly.
    for name in before:
        c.sandbox.inject("heal", "shop", name)


# -- each mutation of the catalog, through KubeClient with the chart's token -----------------------

@dataclass
class Direct:
    sandbox: Sandbox
    kube: KubeClient
    admin: KubeClient


@pytest.fixture(scope="module")
def rendered_default() -> Rendered:
    return render()


@pytest.fixture
def direct(rendered_default: Rendered, tmp_path: Path) -> Iterator[Direct]:
    sandbox = Sandbox().start()
    bind_chart_role(rendered_default, sandbox)
    kube = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(tmp_path / "engine.kubeconfig", token=TOKEN))
    admin = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(tmp_path / "admin.kubeconfig"))
    try:
        yield Direct(sandbox, kube, admin)
    finally:
        kube.close()
        admin.close()
        sandbox.stop()


def _first_pod(d: Direct, app: str) -> str:
    return next(p.name for p in d.admin.list_pods("shop", {"app": app}))


MUTATIONS: dict[str, tuple[Callable[[Direct], Any], Any]] = {
    "rollout_restart": (lambda d: d.kube.rollout_restart("shop", "payment-service"), None),
    "rollout_undo": (lambda d: (evening_deploy(d.admin), d.kube.rollout_undo("shop", "checkout")), None),
    "rollout_status": (lambda d: d.kube.rollout_status("shop", "cart"), None),
    "delete_pod": (lambda d: d.kube.delete_pod("shop", _first_pod(d, "frontend")), None),
    "evict_pod": (lambda d: d.kube.evict_pod("shop", _first_pod(d, "cart")), None),
    "delete_deployment": (lambda d: d.kube.delete_deployment("test", "test-env"), None),
    "scale_deployment": (lambda d: d.kube.scale("Deployment", "shop", "cart", 3), None),
    "scale_statefulset": (lambda d: d.kube.scale("StatefulSet", "shop", "postgres", 1), None),
}


@pytest.mark.parametrize("mutation", [
    pytest.param(name, marks=pytest.mark.xfail(reason=finding, raises=AssertionError, strict=True)) if finding
    else name for name, (_, finding) in MUTATIONS.items()])
def test_each_catalog_mutation_works_with_the_chart_token(direct: Direct, mutation: str) -> None:
    do, _ = MUTATIONS[mutation]
    try:
        do(direct)
    except PermanentError as exc:
        raise AssertionError(f"{mutation} refused under the chart's role: {exc}; "
                             f"refused requests: {direct.sandbox.forbidden()}") from exc
    assert direct.sandbox.forbidden() == []
    assert direct.sandbox.authz.calls()  # the chart's token made the calls
