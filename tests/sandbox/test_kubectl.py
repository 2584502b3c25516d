"""kubectl (the real binary) against the sandbox: the commands an SRE types, with their usual output."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tagent.sandbox import Sandbox
from tests.fixtures.sandbox import Kubectl
from tests.sandbox.helpers import wait_for

FAST = [{"speed": 20}]


def _columns(out: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in out.splitlines() if line.strip()]
    return lines[0].split(), [re.split(r"\s{2,}", line.strip()) for line in lines[1:]]


def test_get_nodes_pods_and_deployments_across_namespaces(kubectl: Kubectl) -> None:
    header, rows = _columns(kubectl("get", "nodes").stdout)
    assert header == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [r[0] for r in rows] == ["node-a", "node-b", "node-c"]
    assert all(r[1] == "Ready" for r in rows)

    header, rows = _columns(kubectl("get", "pods", "-A").stdout)
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    by_ns: dict[str, list[list[str]]] = {}
    for r in rows:
        by_ns.setdefault(r[0], []).append(r)
    assert len(by_ns["shop"]) == 3 + 2 + 2 + 2 + 1 + 1
    assert len(by_ns["test"]) == 1 and len(by_ns["kube-system"]) == 2
    assert all(r[2] == "1/1" and r[3] == "Running" and r[4] == "0" for r in rows)
    assert any(r[1] == "postgres-0" for r in by_ns["shop"])

    header, rows = _columns(kubectl("get", "deploy", "-A").stdout)
    assert header == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    ready = {r[1]: r[2] for r in rows}
    assert ready == {"coredns": "2/2", "cart": "2/2", "checkout": "2/2", "frontend": "3/3",
                     "payment-service": "2/2", "redis-cache": "1/1", "test-env": "1/1"}
    images = kubectl("get", "deploy", "-n", "shop", "-o", "jsonpath={.items[*].spec.template.spec.containers[0].image}")
    assert set(images.stdout.split()) == {"golang:1.22", "python:3.12", "node:20", "eclipse-temurin:21", "redis:7"}
    assert "postgres" in kubectl("get", "statefulsets", "-n", "shop").stdout


@pytest.mark.parametrize("sandbox", FAST, indirect=True)
def test_scale_up_and_down(kubectl: Kubectl) -> None:
    kubectl("scale", "deployment/cart", "-n", "shop", "--replicas=4")

    def running(n: int) -> bool:
        out = kubectl("get", "pods", "-n", "shop", "-l", "app=cart", "--no-headers").stdout
        rows = [line.split() for line in out.splitlines()]
        return len(rows) == n and all(r[2] == "Running" and r[1] == "1/1" for r in rows)

    wait_for(lambda: running(4), what="4 running cart pods")
    assert "4/4" in kubectl("get", "deploy", "cart", "-n", "shop").stdout
    kubectl("scale", "deployment/cart", "-n", "shop", "--replicas=1")
    wait_for(lambda: running(1), what="1 cart pod")
    kubectl("scale", "statefulset/postgres", "-n", "shop", "--replicas=2")
    wait_for(lambda: "2/2" in kubectl("get", "sts", "postgres", "-n", "shop").stdout, what="postgres 2/2")
    assert "postgres-1" in kubectl("get", "pods", "-n", "shop").stdout
    kubectl("rollout", "restart", "statefulset/postgres", "-n", "shop")
    status = kubectl("rollout", "status", "statefulset/postgres", "-n", "shop", "--timeout=60s").stdout
    assert "statefulset rolling update complete 2 pods at revision postgres-" in status
    revisions = kubectl("get", "pods", "-n", "shop", "-l", "app=postgres", "-o",
                        "jsonpath={.items[*].metadata.labels.controller-revision-hash}").stdout.split()
    assert len(revisions) == 2 and len(set(revisions)) == 1 and status.strip().endswith(f"{revisions[0]}...")


@pytest.mark.parametrize("sandbox", FAST, indirect=True)
def test_rollout_restart_status_and_undo_twice_toggles_back(kubectl: Kubectl) -> None:
    def template_hash() -> str:
        out = kubectl("get", "rs", "-n", "shop", "-l", "app=checkout", "-o", "json").stdout
        active = [rs for rs in json.loads(out)["items"] if rs["spec"]["replicas"] > 0]
        assert len(active) >= 1
        newest = max(active, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
        return str(newest["metadata"]["labels"]["pod-template-hash"])

    original = template_hash()
    assert "restarted" in kubectl("rollout", "restart", "deployment/checkout", "-n", "shop").stdout
    status = kubectl("rollout", "status", "deployment/checkout", "-n", "shop", "--timeout=60s")
    assert 'deployment "checkout" successfully rolled out' in status.stdout
    restarted = template_hash()
    assert restarted != original
    pods = kubectl("get", "pods", "-n", "shop", "-l", "app=checkout", "--no-headers").stdout
    assert all(restarted in line for line in pods.splitlines())

    kubectl("rollout", "undo", "deployment/checkout", "-n", "shop")
    kubectl("rollout", "status", "deployment/checkout", "-n", "shop", "--timeout=60s")
    assert template_hash() == original
    kubectl("rollout", "undo", "deployment/checkout", "-n", "shop")
    kubectl("rollout", "status", "deployment/checkout", "-n", "shop", "--timeout=60s")
    assert template_hash() == restarted
    history = kubectl("rollout", "history", "deployment/checkout", "-n", "shop").stdout
    assert re.findall(r"^(\d+)\s", history, re.M) == ["3", "4"]  # reused ReplicaSets took new revisions
    assert len(json.loads(kubectl("get", "rs", "-n", "shop", "-l", "app=checkout", "-o", "json").stdout)["items"]) == 2


def test_logs_of_a_pod_and_a_deployment(kubectl: Kubectl, sandbox: Sandbox) -> None:
    wait_for(lambda: '" 200 ' in kubectl("logs", "deployment/frontend", "-n", "shop").stdout, what="access logs")
    out = kubectl("logs", "deployment/frontend", "-n", "shop", "--tail=3").stdout
    lines = out.splitlines()
    assert len(lines) == 3
    assert all(re.search(r'"(GET|POST) /\S* HTTP/1.1" \d{3} \d+ "-" ".+" \d+ms$', line) for line in lines)
    pod = kubectl("get", "pods", "-n", "shop", "-l", "app=postgres", "-o", "name").stdout.strip()
    assert "database system is ready to accept connections" in kubectl("logs", pod, "-n", "shop").stdout
    stamped = kubectl("logs", "deployment/cart", "-n", "shop", "--tail=1", "--timestamps").stdout
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", stamped)


def test_delete_pod_is_replaced(kubectl: Kubectl) -> None:
    pods = kubectl("get", "pods", "-n", "shop", "-l", "app=frontend", "-o", "name").stdout.split()
    assert len(pods) == 3
    out = kubectl("delete", pods[0], "-n", "shop", timeout=30).stdout
    assert "deleted" in out
    now = kubectl("get", "pods", "-n", "shop", "-l", "app=frontend", "-o", "name").stdout.split()
    assert pods[0] not in now
    wait_for(lambda: len(kubectl("get", "pods", "-n", "shop", "-l", "app=frontend", "-o", "name").stdout.split()) == 3,
             what="a replacement pod")
    events = kubectl("get", "events", "-n", "shop").stdout
    assert "SuccessfulCreate" in events and "Killing" in events


def test_top_pods_and_nodes_use_the_metrics_api(kubectl: Kubectl) -> None:
    header, rows = _columns(kubectl("top", "pods", "-n", "shop").stdout)
    assert header == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    usage = {r[0].rsplit("-", 2)[0] if r[0].count("-") >= 2 else r[0]: r for r in rows}
    assert len(rows) == 11
    payment = [r for r in rows if r[0].startswith("payment-service-")]
    cart = [r for r in rows if r[0].startswith("cart-")]
    assert all(int(r[1].rstrip("m")) > int(c[1].rstrip("m")) for r in payment for c in cart)  # Java uses more
    assert all(r[2].endswith("Mi") for r in rows) and usage
    assert "frontend" in kubectl("top", "pods", "-n", "shop", "-l", "app=frontend").stdout
    header, rows = _columns(kubectl("top", "nodes").stdout)
    assert header[0] == "NAME" and len(rows) == 3


@pytest.mark.parametrize("sandbox", FAST, indirect=True)
def test_events_after_a_crash_loop(kubectl: Kubectl, sandbox: Sandbox) -> None:
    sandbox.inject("crashloop", "shop", "cart")
    wait_for(lambda: "BackOff" in kubectl("get", "events", "-n", "shop").stdout, what="a BackOff event")
    header, rows = _columns(kubectl("get", "events", "-n", "shop").stdout)
    assert header == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    backoff = [r for r in rows if r[2] == "BackOff"]
    assert backoff and backoff[0][1] == "Warning" and backoff[0][3].startswith("pod/cart-")
    assert "Back-off restarting failed container cart" in backoff[0][4]


@pytest.mark.parametrize("sandbox", FAST, indirect=True)
def test_apply_validates_on_the_server_and_delete_collects_the_pods(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "api.yaml"
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: test}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: LABEL}}
    spec:
      containers: [{name: api, image: "python:3.12", ports: [{containerPort: 8000}]}]
"""
    manifest.write_text(text.replace("REPLICAS", "1").replace("LABEL", "api"))
    assert "deployment.apps/api created" in kubectl("apply", "-f", str(manifest)).stdout
    kubectl("rollout", "status", "deployment/api", "-n", "test", "--timeout=60s")
    manifest.write_text(text.replace("REPLICAS", "2").replace("LABEL", "api"))
    assert "deployment.apps/api configured" in kubectl("apply", "-f", str(manifest)).stdout
    kubectl("rollout", "status", "deployment/api", "-n", "test", "--timeout=60s")
    assert "2/2" in kubectl("get", "deploy", "api", "-n", "test").stdout

    manifest.write_text(text.replace("REPLICAS", "1").replace("LABEL", "other").replace("name: api,", "name: bad,"))
    bad = kubectl("apply", "-f", str(manifest), check=False)
    assert bad.returncode != 0 and "spec.template.metadata.labels" in bad.stderr and "is invalid" in bad.stderr

    assert 'deployment.apps "api" deleted' in kubectl("delete", "deployment/api", "-n", "test").stdout
    wait_for(lambda: "api-" not in kubectl("get", "pods", "-n", "test").stdout + kubectl(
        "get", "rs", "-n", "test").stdout, what="the deployment's ReplicaSets and pods to be collected")


def test_logs_follow_streams_new_lines(kubeconfig: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(["kubectl", f"--kubeconfig={kubeconfig}", f"--cache-dir={tmp_path / 'c'}", "logs", "-f",
                             "--tail=0", "deployment/frontend", "-n", "shop"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]  # frontend serves ~20 requests a second per pod
    finally:
        proc.kill()
        proc.wait()
    assert all(re.search(r'" \d{3} \d+ "-" ".+" \d+ms$', line.strip()) for line in lines), lines
