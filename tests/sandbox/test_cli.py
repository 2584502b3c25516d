"""`tagent sandbox up|inject|faults` as a user runs them: in separate processes, with kubectl watching."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tagent.cli.sandbox_cmd import sandbox_app
from tagent.sandbox import Sandbox
from tests.sandbox.helpers import wait_for

KUBECTL = "/usr/bin/kubectl"


def tagent(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tagent", *args], capture_output=True, text=True, timeout=timeout)


def kubectl(kubeconfig: Path, *args: str) -> str:
    done = subprocess.run([KUBECTL, f"--kubeconfig={kubeconfig}", f"--cache-dir={kubeconfig.parent / 'cache'}",
                           *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Up:
    """A `tagent sandbox up` process and the kubeconfig it wrote."""

    def __init__(self, proc: subprocess.Popen[str], kubeconfig: Path) -> None:
        self.proc, self.kubeconfig = proc, kubeconfig

    def kubectl(self, *args: str) -> str:
        return kubectl(self.kubeconfig, *args)


def _up(tmp_path: Path, *extra: str) -> Iterator[Up]:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen([sys.executable, "-m", "tagent", "sandbox", "up", "--port", "0",
                             "--kubeconfig-out", str(kubeconfig), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: kubeconfig.exists() or proc.poll() is not None, timeout=30, what="the kubeconfig")
        assert proc.poll() is None, proc.communicate()[1]
        yield Up(proc, kubeconfig)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    yield from _up(tmp_path)


def test_inject_crashloop_shows_crashloopbackoff_within_seconds(up: Up) -> None:
    assert "payment-service" in up.kubectl("get", "pods", "-n", "shop")
    done = tagent("sandbox", "inject", "crashloop", "--target", "shop/payment-service",
                  "--kubeconfig", str(up.kubeconfig))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "crashloop injected into deployment/payment-service in namespace shop"

    def crash_looping() -> list[str]:
        rows = [line.split() for line in up.kubectl("get", "pods", "-n", "shop").splitlines()[1:]]
        return [r[0] for r in rows if r[0].startswith("payment-service-") and r[2] == "CrashLoopBackOff"]

    # "within seconds" at speed 1: the first crash comes after 0.4-2s, the second after 3s more
    assert len(wait_for(crash_looping, timeout=20, interval=0.2, what="CrashLoopBackOff in kubectl")) >= 1
    listed = CliRunner().invoke(sandbox_app, ["faults", "--kubeconfig", str(up.kubeconfig), "--output", "json"])
    assert '"crashloop"' in listed.stdout and '"payment-service"' in listed.stdout

    up.proc.send_signal(signal.SIGTERM)
    out, err = up.proc.communicate(timeout=10)
    assert up.proc.returncode == 0, err
    assert "sandbox stopped" in out and "Traceback" not in err


def test_a_scenario_file_with_a_timed_fault(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("""\
apiVersion: tagent.io/v1
kind: SandboxScenario
metadata: {name: tiny}
spec:
  nodes: [{name: worker-1}]
  workloads:
    - {namespace: web, name: api, image: "python:3.12", replicas: 2, rps: 3, latencyMs: 15}
  script:
    - {at: 20s, fault: crashloop, target: web/api}
""")
    with Sandbox(scenario=scenario, speed=10) as sb:
        config = sb.write_kubeconfig(tmp_path / "kubeconfig")
        assert kubectl(config, "get", "nodes", "-o", "name").split() == ["node/worker-1"]
        assert "Running" in kubectl(config, "get", "pods", "-n", "web")
        wait_for(lambda: "CrashLoopBackOff" in kubectl(config, "get", "pods", "-n", "web"), timeout=30,
                 interval=0.2, what="the scripted crash loop")


def test_bad_input_is_one_line_and_the_right_exit_code(tmp_path: Path) -> None:
    def run(*args: str) -> Result:
        return CliRunner().invoke(sandbox_app, list(args))

    unknown = run("inject", "meltdown", "--target", "shop/cart", "--kubeconfig", str(tmp_path / "k"))
    assert unknown.exit_code == 2 and "unknown fault 'meltdown'" in unknown.stderr
    target = run("inject", "oom", "--target", "cart", "--kubeconfig", str(tmp_path / "k"))
    assert target.exit_code == 2 and "NAMESPACE/NAME" in target.stderr
    missing = run("inject", "oom", "--target", "shop/cart", "--kubeconfig", str(tmp_path / "k"))
    assert missing.exit_code == 1 and missing.stderr.startswith("error: cannot read kubeconfig")
    param = run("inject", "error-spike", "--target", "shop/cart", "--param", "rate", "--kubeconfig", "x")
    assert param.exit_code == 2 and "NAME=NUMBER" in param.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: tagent.io/v1\nkind: SandboxScenario\nmetadata: {name: x}\n"
                   "spec: {nodes: [], workloads: [{namespace: a, name: b, image: c, replicas: -1}]}\n")
    scenario = run("up", "--scenario", str(bad), "--kubeconfig-out", str(tmp_path / "k"))
    assert scenario.exit_code == 1 and "spec.nodes" in scenario.stderr
    assert len(scenario.stderr.strip().splitlines()) == 1
    stale = tmp_path / "stale"
    stale.write_text("apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters: [{name: x, cluster: "
                     "{server: 'http://127.0.0.1:1'}}]\nusers: [{name: x, user: {token: t}}]\n"
                     "contexts: [{name: x, context: {cluster: x, user: x}}]\n")
    down = run("inject", "oom", "--target", "shop/cart", "--kubeconfig", str(stale))
    assert down.exit_code == 1 and "is `tagent sandbox up` running?" in down.stderr
    for result in (unknown, target, missing, param, scenario, down):
        assert result.exception is None or isinstance(result.exception, SystemExit)
