"""The sandbox scenario on the real control plane: real controllers make the ReplicaSets and pods, the real
scheduler binds them, and the simulated kubelet (an API client) reports their status and reacts to faults
injected with `tagent sandbox inject`, the same command as for the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagent.sandbox.real.cluster import RealSandbox
from tests.fixtures.realk8s import REAL, require_control_plane
from tests.waiting import wait_for

pytestmark = REAL


@pytest.fixture(scope="module")
def real_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealSandbox, Path]]:
    sb = RealSandbox(bin_dir=require_control_plane(), seed=7)
    sb.start()
    try:
        yield sb, sb.write_kubeconfig(tmp_path_factory.mktemp("real-sandbox") / "kubeconfig")
    finally:
        sb.stop()


def kubectl(kc: Path, *args: str) -> str:
    done = subprocess.run(["kubectl", f"--kubeconfig={kc}", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def get(kc: Path, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(kubectl(kc, "get", *args, "-o", "json"))
    return data


def inject(kc: Path, fault: str, target: str) -> str:
    done = subprocess.run([sys.executable, "-m", "tagent", "sandbox", "inject", fault, "--target", target,
                           "--kubeconfig", str(kc)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def pods_of(kc: Path, app: str, namespace: str = "shop") -> list[dict[str, Any]]:
    return list(get(kc, "pods", "-n", namespace, "-l", f"app={app}")["items"])


def waiting(pod: dict[str, Any]) -> str:
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        return str((cs.get("state") or {}).get("waiting", {}).get("reason", ""))
    return ""


def healthy(kc: Path, name: str, namespace: str = "shop") -> bool:
    d = get(kc, "deployment", name, "-n", namespace)
    want, st = d["spec"]["replicas"], d.get("status") or {}
    return bool(st.get("observedGeneration") == d["metadata"]["generation"] and st.get("updatedReplicas") == want
                and st.get("availableReplicas") == want and st.get("replicas") == want)


def test_the_scenario_runs_on_real_controllers(real_sandbox: tuple[RealSandbox, Path]) -> None:
    sb, kc = real_sandbox
    nodes = get(kc, "nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["node-a", "node-b", "node-c"]
    version = json.loads(kubectl(kc, "version", "-o", "json"))["serverVersion"]["gitVersion"]
    assert {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes} == {version}
    leases = get(kc, "leases", "-n", "kube-node-lease")["items"]
    assert sorted(lease["metadata"]["name"] for lease in leases) == ["node-a", "node-b", "node-c"]
    for w in sb.scenario.spec.workloads:
        if w.kind == "Deployment":
            wait_for(lambda w=w: healthy(kc, w.name, w.namespace), 90, f"deployment {w.namespace}/{w.name} available")
    def all_ready() -> list[dict[str, Any]]:
        pods = get(kc, "pods", "-A")["items"]
        ready = [p for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in p["status"].get("conditions") or [])]
        return pods if len(ready) == len(pods) == sum(w.replicas for w in sb.scenario.spec.workloads) else []

    pods = wait_for(all_ready, 60, "every pod of the scenario ready")
    for pod in pods:
        assert pod["spec"]["nodeName"] in ("node-a", "node-b", "node-c")  # bound by the real scheduler
        ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
        assert pod["status"]["phase"] == "Running" and ready["status"] == "True", pod["metadata"]["name"]
    rs = get(kc, "rs", "-n", "shop", "-l", "app=cart")["items"]
    assert len(rs) == 1 and rs[0]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    taints = [t for n in get(kc, "nodes")["items"] for t in n["spec"].get("taints") or []]
    assert taints == [], "the node lifecycle controller sees the nodes Ready"
    assert 'http_requests_total{namespace="shop",deployment="cart"' in httpx.get(sb.metrics_url, timeout=10).text


def test_a_crash_loop_grows_its_restart_count_until_a_rollout_restart(real_sandbox: tuple[RealSandbox, Path]) -> None:
    _, kc = real_sandbox
    wait_for(lambda: healthy(kc, "checkout"), 90, "checkout available")
    assert "crashloop injected into deployment/checkout" in inject(kc, "crashloop", "shop/checkout")
    looping = wait_for(lambda: [p for p in pods_of(kc, "checkout") if waiting(p) == "CrashLoopBackOff"], 30,
                       "a checkout pod in CrashLoopBackOff")
    first = looping[0]["status"]["containerStatuses"][0]["restartCount"]
    assert first >= 2
    name = looping[0]["metadata"]["name"]
    wait_for(lambda: get(kc, "pod", name, "-n", "shop")["status"]["containerStatuses"][0]["restartCount"] > first,
             40, "the restart count to grow")
    reasons = {e["reason"] for e in get(kc, "events", "-n", "shop", "--field-selector",
                                        f"involvedObject.name={name}")["items"]}
    assert "BackOff" in reasons
    kubectl(kc, "rollout", "restart", "deployment/checkout", "-n", "shop")
    wait_for(lambda: healthy(kc, "checkout") and all(not waiting(p) for p in pods_of(kc, "checkout"))
             and len(pods_of(kc, "checkout")) == 2, 60,
             "checkout healthy after the restart (a new revision is not bound to the crash loop), the old pods gone")
    inject(kc, "heal", "shop/checkout")


def test_a_bad_image_waits_in_image_pull_back_off_until_rolled_back(real_sandbox: tuple[RealSandbox, Path]) -> None:
    _, kc = real_sandbox
    wait_for(lambda: healthy(kc, "cart"), 90, "cart available")
    inject(kc, "bad-image", "shop/cart")
    image = get(kc, "deployment", "cart", "-n", "shop")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "golang:1.22-does-not-exist"
    stuck = wait_for(lambda: [p for p in pods_of(kc, "cart") if waiting(p) == "ImagePullBackOff"], 30,
                     "a new cart pod in ImagePullBackOff")
    assert stuck[0]["status"]["phase"] == "Pending"
    old = [p for p in pods_of(kc, "cart") if p["spec"]["containers"][0]["image"] == "golang:1.22"]
    assert old and all(p["status"]["phase"] == "Running" for p in old), "the old version keeps serving"
    assert len(get(kc, "rs", "-n", "shop", "-l", "app=cart")["items"]) == 2  # the real controller's history
    kubectl(kc, "rollout", "undo", "deployment/cart", "-n", "shop")
    wait_for(lambda: healthy(kc, "cart") and [p["spec"]["containers"][0]["image"] for p in pods_of(kc, "cart")]
             == ["golang:1.22"] * 2, 60, "cart back on golang:1.22, every pod of the bad revision deleted")
    inject(kc, "heal", "shop/cart")


def test_oom_kills_are_reported_as_oom_killed(real_sandbox: tuple[RealSandbox, Path]) -> None:
    sb, kc = real_sandbox
    wait_for(lambda: healthy(kc, "frontend"), 90, "frontend available")
    done = subprocess.run([sys.executable, "-m", "tagent", "sandbox", "inject", "oom", "--target", "shop/frontend",
                           "--param", "ramp=2", "--kubeconfig", str(kc)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    def killed() -> list[str]:
        return [p["metadata"]["name"] for p in pods_of(kc, "frontend")
                for cs in p["status"].get("containerStatuses") or []
                if ((cs.get("lastState") or {}).get("terminated") or cs["state"].get("terminated") or {})
                .get("reason") == "OOMKilled"]

    assert wait_for(killed, 40, "an OOMKilled frontend container")
    listed = subprocess.run([sys.executable, "-m", "tagent", "sandbox", "faults", "-o", "json", "--kubeconfig",
                             str(kc)], capture_output=True, text=True, timeout=60)
    assert [(f["workload"], f["name"]) for f in json.loads(listed.stdout)] == [("frontend", "oom")]
    inject(kc, "heal", "shop/frontend")
    listed = subprocess.run([sys.executable, "-m", "tagent", "sandbox", "faults", "--kubeconfig", str(kc)],
                            capture_output=True, text=True, timeout=60)
    assert listed.stdout.strip() == "no active faults"
    assert sb.kubelet is not None and sb.kubelet.errors == 0, "the API server took every status and event write"


def test_a_statefulset_crash_loop_is_bound_to_its_revision(real_sandbox: tuple[RealSandbox, Path]) -> None:
    _, kc = real_sandbox

    def postgres() -> dict[str, Any]:
        return get(kc, "pod", "postgres-0", "-n", "shop")

    wait_for(lambda: get(kc, "sts", "postgres", "-n", "shop")["status"].get("readyReplicas") == 1, 90,
             "postgres ready")
    inject(kc, "crashloop", "shop/postgres")
    wait_for(lambda: waiting(postgres()) == "CrashLoopBackOff", 40, "postgres-0 in CrashLoopBackOff")
    kubectl(kc, "rollout", "restart", "statefulset/postgres", "-n", "shop")
    # the real StatefulSet controller (OrderedReady) does not replace a pod that is not Running and Ready: the
    # rollout waits for a person (or a playbook) to delete the crashing pod, which comes back on the new revision
    kubectl(kc, "delete", "pod", "postgres-0", "-n", "shop", "--wait=false")
    wait_for(lambda: get(kc, "sts", "postgres", "-n", "shop")["status"].get("updatedReplicas") == 1
             and not waiting(postgres()) and postgres()["status"]["phase"] == "Running", 90,
             "postgres-0 recreated on the new revision, not crashing")
    inject(kc, "heal", "shop/postgres")


def test_bad_injections_are_one_line_errors(real_sandbox: tuple[RealSandbox, Path]) -> None:
    _, kc = real_sandbox

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tagent", "sandbox", "inject", *args, "--kubeconfig", str(kc)],
                              capture_output=True, text=True, timeout=60)

    missing = run("oom", "--target", "shop/nope")
    assert missing.returncode == 1
    assert missing.stderr == 'error: no deployment or statefulset "nope" in namespace "shop"\n'
    wrong = run("error-spike", "--target", "shop/cart", "--param", "rate=7")
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    assert "rate must be a number in [0.0, 1.0]" in wrong.stderr
    unknown = run("error-spike", "--target", "shop/cart", "--param", "speed=2")
    assert unknown.returncode == 1 and "takes no parameter 'speed'" in unknown.stderr
