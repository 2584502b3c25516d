"""Fault behaviour as a client sees it: crash loops with back-off, bad deploys, OOM kills, errors, load."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from kubernetes import client

from tagent.sandbox import ApiError, Sandbox
from tests.fixtures.sandbox import Kubectl
from tests.sandbox.helpers import wait_for


def _pods(core: client.CoreV1Api, app: str) -> list[client.V1Pod]:
    return list(core.list_namespaced_pod("shop", label_selector=f"app={app}").items)


def _restart(apps: client.AppsV1Api, name: str) -> None:
    apps.patch_namespaced_deployment(name, "shop", {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": dt.datetime.now(dt.UTC).isoformat()}}}}})


def _settled(apps: client.AppsV1Api, name: str) -> bool:
    d = apps.read_namespaced_deployment(name, "shop")
    s = d.status
    return bool(s.observed_generation == d.metadata.generation and s.updated_replicas == d.spec.replicas
                and s.replicas == d.spec.replicas and s.ready_replicas == d.spec.replicas)


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_crash_loop_backs_off_exponentially_and_a_restart_cures_it(sandbox: Sandbox,
                                                                    kube_api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    sandbox.inject("crashloop", "shop", "payment-service")
    seen: list[str] = []

    def looping() -> bool:
        status = _pods(core, "payment-service")[0].status.container_statuses[0]
        waiting = status.state.waiting
        if waiting and waiting.reason == "CrashLoopBackOff":
            back_off = re.match(r"back-off (\S+) restarting failed container=payment-service", waiting.message)
            assert back_off, waiting.message
            if not seen or seen[-1] != back_off.group(1):
                seen.append(back_off.group(1))
        return status.restart_count >= 5

    wait_for(looping, timeout=30, interval=0.03, what="five restarts")
    assert seen[:3] == ["10s", "20s", "40s"], seen
    status = _pods(core, "payment-service")[0].status.container_statuses[0]
    assert status.last_state.terminated.reason == "Error" and status.last_state.terminated.exit_code == 1
    assert not status.ready
    crashed = _pods(core, "payment-service")[0].metadata.name
    previous = core.read_namespaced_pod_log(crashed, "shop", previous=True)
    assert "java.lang.IllegalStateException" in previous.splitlines()[-2]  # the Java crash, last lines
    # the back-off is sandbox time: finishedAt stamps run ahead of the wall clock at 30x
    finished = status.last_state.terminated.finished_at
    assert finished > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    assert abs((sandbox.clock.now() - finished).total_seconds()) < 400
    backoffs = [e for e in core.list_namespaced_event("shop").items if e.reason == "BackOff"]
    assert backoffs and max(e.count for e in backoffs) >= 2 and backoffs[0].type == "Warning"

    _restart(apps, "payment-service")  # a transient fault: new pods come up healthy
    wait_for(lambda: _settled(apps, "payment-service"), timeout=30, what="the restarted rollout")
    first = {p.metadata.name for p in _pods(core, "payment-service")}
    sandbox.clock.sleep(60)  # a sandbox minute: healthy pods would have crashed three times by now
    pods = _pods(core, "payment-service")
    assert {p.metadata.name for p in pods} == first
    assert all(p.status.container_statuses[0].restart_count == 0 and p.status.container_statuses[0].ready
               for p in pods)


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_bad_deploy_survives_a_restart_and_a_rollback_heals_it(sandbox: Sandbox, kube_api: client.ApiClient,
                                                               kubectl: Kubectl) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)

    def error_share() -> float | None:
        """The share of 500s in the access logs of the current pods (None until they served enough)."""
        lines = []
        for pod in _pods(core, "checkout"):
            if pod.status.phase != "Running":
                return None
            log = core.read_namespaced_pod_log(pod.metadata.name, "shop")
            lines += [m.group(1) for m in re.finditer(r'HTTP/1.1" (\d{3}) ', log)]
        if len(lines) < 150:
            return None
        return sum(1 for code in lines if code == "500") / len(lines)

    sandbox.inject("bad-deploy", "shop", "checkout")
    wait_for(lambda: _settled(apps, "checkout") and apps.read_namespaced_deployment(
        "checkout", "shop").metadata.annotations["deployment.kubernetes.io/revision"] == "2", what="bad rollout")
    env = apps.read_namespaced_deployment("checkout", "shop").spec.template.spec.containers[0].env
    assert {e.name: e.value for e in env}["APP_VERSION"] == "1.0.1"
    assert wait_for(error_share, what="500s from the bad version") > 0.4

    _restart(apps, "checkout")  # the code is still bad
    wait_for(lambda: _settled(apps, "checkout") and apps.read_namespaced_deployment(
        "checkout", "shop").metadata.annotations["deployment.kubernetes.io/revision"] == "3", what="restart")
    assert wait_for(error_share, what="500s after the restart") > 0.4

    kubectl("rollout", "undo", "deployment/checkout", "-n", "shop", "--to-revision=1")
    kubectl("rollout", "status", "deployment/checkout", "-n", "shop", "--timeout=60s")
    env = apps.read_namespaced_deployment("checkout", "shop").spec.template.spec.containers[0].env
    assert {e.name: e.value for e in env}["APP_VERSION"] == "1.0.0"
    healed = wait_for(lambda: [error_share()] if error_share() is not None else None, what="traffic after undo")
    assert healed == [0.0]


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_oom_kills_until_the_limit_is_raised(sandbox: Sandbox, kube_api: client.ApiClient) -> None:
    core, apps = client.CoreV1Api(kube_api), client.AppsV1Api(kube_api)
    sandbox.inject("oom", "shop", "cart")

    def oom_killed() -> bool:
        last = _pods(core, "cart")[0].status.container_statuses[0].last_state
        return bool(last.terminated and last.terminated.reason == "OOMKilled" and last.terminated.exit_code == 137)

    wait_for(oom_killed, timeout=30, interval=0.05, what="an OOMKilled container")
    assert any(e.reason == "OOMKilling" for e in core.list_namespaced_event("shop").items)
    # 1.5x the old limit (128Mi) is 192Mi: a 512Mi limit holds it
    apps.patch_namespaced_deployment("cart", "shop", {"spec": {"template": {"spec": {"containers": [
        {"name": "cart", "resources": {"limits": {"memory": "512Mi"}}}]}}}})
    wait_for(lambda: _settled(apps, "cart"), timeout=30, what="the rollout with the new limit")
    sandbox.clock.sleep(60)
    pods = _pods(core, "cart")
    assert all(p.status.container_statuses[0].restart_count == 0 for p in pods)
    usage = client.CustomObjectsApi(kube_api).list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "shop", "pods", label_selector="app=cart")["items"]
    memory_mi = [int(i["containers"][0]["usage"]["memory"].rstrip("Ki")) / 1024 for i in usage]
    assert all(150 < m <= 193 for m in memory_mi), memory_mi


def _cpu_millis(kube_api: client.ApiClient, app: str) -> list[float]:
    items = client.CustomObjectsApi(kube_api).list_namespaced_custom_object(
        "metrics.k8s.io", "v1beta1", "shop", "pods", label_selector=f"app={app}")["items"]
    return [int(i["containers"][0]["usage"]["cpu"].rstrip("n")) / 1e6 for i in items]


def test_load_idle_error_spike_and_heal(sandbox: Sandbox, kube_api: client.ApiClient) -> None:
    core = client.CoreV1Api(kube_api)
    base = _cpu_millis(kube_api, "cart")
    assert all(30 < m < 50 for m in base)  # ~40m
    sandbox.inject("load", "shop", "cart")
    wait_for(lambda: min(_cpu_millis(kube_api, "cart")) > 150, what="CPU under load (5x)")
    sandbox.inject("idle", "shop", "cart")
    wait_for(lambda: max(_cpu_millis(kube_api, "cart")) < 5, what="idle CPU")
    sandbox.inject("heal", "shop", "cart")
    wait_for(lambda: 30 < min(_cpu_millis(kube_api, "cart")) < 50, what="normal CPU")

    pod = _pods(core, "frontend")[0].metadata.name
    sandbox.inject("error-spike", "shop", "frontend", rate=0.5)
    mark = sandbox.clock.now()

    def codes_since() -> list[str] | None:
        log = core.read_namespaced_pod_log(pod, "shop", since_seconds=max(1, int(
            (sandbox.clock.now() - mark).total_seconds())))
        found = re.findall(r'HTTP/1.1" (\d{3}) ', log)
        return found if len(found) >= 60 else None

    codes = wait_for(codes_since, what="requests during the spike")
    assert 0.3 < codes.count("500") / len(codes) < 0.7
    assert "TypeError" in core.read_namespaced_pod_log(pod, "shop", tail_lines=400)  # Node.js errors
    assert sandbox.faults()[0]["name"] == "error-spike"
    sandbox.inject("heal", "shop", "frontend")
    assert sandbox.faults() == []


def test_fault_api_over_http(sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/sandbox/v1/faults"
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    assert httpx.post(url, json={"fault": "crashloop", "target": "shop/cart"}).status_code == 401
    bad = httpx.post(url, json={"fault": "meltdown", "target": "shop/cart"}, headers=auth)
    assert bad.status_code == 422 and "unknown fault" in bad.json()["message"]
    missing = httpx.post(url, json={"fault": "oom", "target": "shop/nope"}, headers=auth)
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    wrong = httpx.post(url, json={"fault": "error-spike", "target": "shop/cart", "params": {"rate": 7}}, headers=auth)
    assert wrong.status_code == 422
    ok = httpx.post(url, json={"fault": "crashloop", "namespace": "shop", "name": "postgres"}, headers=auth)
    assert ok.status_code == 201 and ok.json()["kind"] == "StatefulSet"
    assert [f["workload"] for f in httpx.get(url, headers=auth).json()["items"]] == ["postgres"]
    with pytest.raises(ApiError) as err:
        sandbox.inject("load", "shop", "nope")
    assert err.value.code == 404
