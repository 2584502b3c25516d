"""The real control plane (etcd, kube-apiserver, controller manager, scheduler) as the launcher starts it:
the pinned version answers, RBAC and ServiceAccount tokens work, a busy port is a one-line error, and no
process outlives its parent, even one killed with SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tagent.errors import ConfigError
from tagent.sandbox.real import ControlPlane
from tagent.sandbox.real.binaries import SCRIPT
from tests.fixtures.realk8s import REAL, RealK8s, require_control_plane
from tests.waiting import wait_for

pytestmark = REAL


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", *args], capture_output=True, text=True,
                          timeout=60)
    if check:
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done


def pinned_version() -> str:
    return subprocess.run(["bash", str(SCRIPT), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def test_kubectl_version_reports_the_pinned_release(real_k8s: RealK8s) -> None:
    version = json.loads(kubectl(real_k8s.kubeconfig, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == pinned_version()
    assert pinned_version().startswith("v1.")


def test_rbac_is_enforced_and_service_account_tokens_come_from_token_request(real_k8s: RealK8s,
                                                                            tmp_path: Path) -> None:
    kc = real_k8s.kubeconfig
    kubectl(kc, "create", "namespace", "rbac-check")
    kubectl(kc, "-n", "rbac-check", "create", "serviceaccount", "reader")
    kubectl(kc, "-n", "rbac-check", "create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods")
    kubectl(kc, "-n", "rbac-check", "create", "rolebinding", "reader", "--role=pod-reader",
            "--serviceaccount=rbac-check:reader")
    token = real_k8s.token_for("rbac-check", "reader")
    assert token.count(".") == 2, "a signed JWT"
    sa = real_k8s.kubeconfig_for(tmp_path / "reader.kubeconfig", token, "rbac-check")
    assert kubectl(sa, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").stdout == \
        "system:serviceaccount:rbac-check:reader"
    assert kubectl(sa, "auth", "can-i", "list", "pods").stdout.strip() == "yes"
    for verb, resource in (("list", "secrets"), ("delete", "pods"), ("create", "deployments.apps")):
        assert kubectl(sa, "auth", "can-i", verb, resource, check=False).stdout.strip() == "no", (verb, resource)
    refused = kubectl(sa, "get", "secrets", check=False)
    assert refused.returncode != 0 and "forbidden" in refused.stderr
    assert kubectl(kc, "auth", "can-i", "delete", "secrets", "-A").stdout.strip() == "yes"  # the admin


def test_the_controllers_and_the_scheduler_run(real_k8s: RealK8s) -> None:
    kc = real_k8s.kubeconfig
    kubectl(kc, "create", "namespace", "controllers-check")
    kubectl(kc, "-n", "controllers-check", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
    rs = wait_for(lambda: kubectl(kc, "-n", "controllers-check", "get", "rs", "-o", "name").stdout.strip(), 30,
                  "the deployment controller to create a ReplicaSet")
    assert rs.startswith("replicaset.apps/web-")
    pods = wait_for(lambda: len(kubectl(kc, "-n", "controllers-check", "get", "pods", "-o", "name").stdout.split())
                    == 2, 30, "the ReplicaSet controller to create 2 pods")
    assert pods
    # no node exists here: the scheduler reports the pods unschedulable (it ran them through its filters)
    reason = wait_for(lambda: kubectl(kc, "-n", "controllers-check", "get", "pods", "-o",
                                      "jsonpath={.items[*].status.conditions[?(@.type=='PodScheduled')].reason}"
                                      ).stdout.strip(), 30, "the scheduler to try the pods")
    assert set(reason.split()) == {"Unschedulable"}


def test_a_port_in_use_is_a_one_line_error() -> None:
    bin_dir = require_control_plane()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cp = ControlPlane(port=port, bin_dir=bin_dir)
        with pytest.raises(ConfigError) as caught:
            cp.start()
    message = str(caught.value)
    assert "\n" not in message and f"127.0.0.1:{port} is already in use" in message
    assert not cp.children and not cp.dir.exists(), "nothing is left behind"


CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from tagent.sandbox.real import ControlPlane
    cp = ControlPlane(bin_dir=Path(sys.argv[1])).start()
    print(json.dumps({"pids": [c.pid for c in cp.children], "dir": str(cp.dir)}), flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_no_process_outlives_its_parent(how: signal.Signals, tmp_path: Path) -> None:
    bin_dir = require_control_plane()
    parent = subprocess.Popen([sys.executable, "-c", CHILD, str(bin_dir)], stdout=subprocess.PIPE, text=True,
                              cwd=tmp_path)
    started: dict[str, Any] = {}
    try:
        assert parent.stdout is not None
        started = json.loads(parent.stdout.readline() or "{}")
        pids = started["pids"]
        assert len(pids) == 4 and all(_alive(p) for p in pids)
        os.kill(parent.pid, how)
        parent.wait(30)
        wait_for(lambda: not any(_alive(p) for p in pids), 20, f"etcd and the kube-* processes to die ({how.name})")
        assert Path(started["dir"]).is_dir()  # killed by a signal, the parent could not remove it ...
        ControlPlane(bin_dir=bin_dir).stop()  # ... the next control plane does
        assert not Path(started["dir"]).exists()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if started.get("dir"):  # a parent that died by a signal could not remove it
            shutil.rmtree(started["dir"], ignore_errors=True)


def test_start_time_and_memory_are_reported(real_k8s: RealK8s) -> None:
    cp = real_k8s.control_plane
    rss = cp.rss()
    assert set(rss) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
    assert all(v > 1 << 20 for v in rss.values()), rss
    assert 0 < cp.started_in < 120
    print(f"control plane started in {cp.started_in:.1f} s; RSS MiB: "
          + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in rss.items()))
