"""`tagent sandbox up --control-plane real` as a user runs it: kubectl sees the pinned server version, SIGTERM
and SIGINT stop every process it started, a port in use is one line, and --speed is refused."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tagent.sandbox.real.binaries import SCRIPT
from tests.fixtures.realk8s import REAL, require_control_plane
from tests.waiting import wait_for

pytestmark = REAL


def up(tmp: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp / "up.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "tagent", "sandbox", "up", "--control-plane", "real",
                                 "--kubeconfig-out", str(tmp / "kc"), *extra], stdout=sink, stderr=subprocess.STDOUT,
                                cwd=tmp, env=env)
    return proc, log


def children_of(pid: int) -> set[int]:
    """Every live descendant of `pid`, found through /proc (they run in their own process groups)."""
    parents: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[0] != "Z":
                parents[int(d.name)] = int(stat[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_kubectl_sees_the_real_server_and_a_signal_stops_everything(tmp_path: Path, how: signal.Signals) -> None:
    require_control_plane()
    proc, log = up(tmp_path)
    try:
        wait_for(lambda: (proc.poll() is None and "prometheus metrics:" in log.read_text()) or proc.poll() is not None,
                 180, "sandbox up to start")
        assert proc.poll() is None, log.read_text()
        text = log.read_text()
        state = Path(re.search(r"state (\S+?)\)", text).group(1))  # type: ignore[union-attr]
        assert state.is_dir()
        version = subprocess.run(["kubectl", f"--kubeconfig={tmp_path / 'kc'}", "version", "-o", "json"],
                                 capture_output=True, text=True, timeout=60)
        assert version.returncode == 0, version.stderr
        pinned = subprocess.run(["bash", str(SCRIPT), "--version"], capture_output=True, text=True).stdout.strip()
        assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == pinned
        names = {Path(f"/proc/{p}/comm").read_text().strip() for p in children_of(proc.pid)}
        assert {"etcd", "kube-apiserver"} <= names and any(n.startswith("kube-controller") for n in names), names
        kids = children_of(proc.pid)
        proc.send_signal(how)
        assert proc.wait(60) == 0, log.read_text()
        assert "sandbox stopped" in log.read_text()
        assert not [p for p in kids if Path(f"/proc/{p}").exists() and
                    (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z")]
        assert not state.exists(), "the state directory is removed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_port_in_use_and_a_speed_are_one_line_errors(tmp_path: Path) -> None:
    require_control_plane()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc, log = up(tmp_path, "--port", str(port))
        assert proc.wait(60) == 1
    assert log.read_text().strip() == f"error: kube-apiserver --port: port 127.0.0.1:{port} is already in use " \
                                      "(Address already in use)"
    proc, log = up(tmp_path, "--speed", "10")
    assert proc.wait(60) == 2
    assert "--speed applies to the emulator only" in log.read_text()


SCENARIO = """
apiVersion: tagent.io/v1
kind: SandboxScenario
metadata: {name: tiny}
spec:
  nodes: [{name: node-a}]
  workloads:
    - {namespace: shop, name: cart, image: golang:1.22, replicas: 1}
  script:
    - {at: 8s, fault: crashloop, target: shop/cart}
"""


def test_a_scenario_file_and_its_timed_faults(tmp_path: Path) -> None:
    require_control_plane()
    (tmp_path / "tiny.yaml").write_text(SCENARIO)
    proc, log = up(tmp_path, "--scenario", str(tmp_path / "tiny.yaml"))
    try:
        wait_for(lambda: "prometheus metrics:" in log.read_text() or proc.poll() is not None, 180, "sandbox up")
        assert proc.poll() is None, log.read_text()
        assert "sandbox cluster 'tiny'" in log.read_text()

        def reasons() -> str:
            done = subprocess.run(["kubectl", f"--kubeconfig={tmp_path / 'kc'}", "get", "pods", "-n", "shop", "-o",
                                   "jsonpath={.items[*].status.containerStatuses[*].state.waiting.reason}"],
                                  capture_output=True, text=True, timeout=60)
            return done.stdout

        assert wait_for(lambda: "CrashLoopBackOff" in reasons(), 60, "the scripted crash loop")
        nodes = subprocess.run(["kubectl", f"--kubeconfig={tmp_path / 'kc'}", "get", "nodes", "-o", "name"],
                               capture_output=True, text=True, timeout=60).stdout.split()
        assert nodes == ["node/node-a"]
        assert "scenario: injected crashloop into shop/cart" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
