"""`tagent run` as a user runs it: a subprocess against `tagent sandbox up` in another, faults injected with
`tagent sandbox inject`, the outcome read from the engine's HTTP API. Readiness, a crash loop decided and
admitted, a graceful SIGTERM, and a restart on the same database that keeps the cooldown (issue 9's
"restarting `tagent run` keeps cooldowns").
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import REPO, wait_for

pytestmark = pytest.mark.xdist_group("e2e-run")
TOKEN = "api-token-for-the-e2e-test"
Proc = subprocess.Popen[bytes]


def tagent(*args: str) -> list[str]:
    return [sys.executable, "-m", "tagent", *args]


@contextmanager
def started(cmd: list[str], cwd: Path, name: str, env: dict[str, str]) -> Iterator[tuple[Proc, Path]]:
    """A background process whose output goes to a file (a pipe nobody reads would block it)."""
    out = cwd / f"{name}.log"
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield proc, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def wait_line(proc: Proc, out: Path, pattern: str, timeout: float = 30) -> re.Match[str]:
    def probe() -> re.Match[str] | None:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited with {proc.returncode}:\n{text(out)[-3000:]}")
        return re.search(pattern, text(out))

    return wait_for(probe, timeout, f"{pattern!r} in {out.name}", interval=0.1)


def stop(proc: Proc, out: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    log = text(out)
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    return log


@contextmanager
def engine_process(tmp: Path, kubeconfig: Path, metrics_url: str, name: str) -> Iterator[tuple[httpx.Client, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    env.update(TAGENT_DATA_DIR=str(tmp / "data"), TAGENT_API_TOKEN=TOKEN, TAGENT_METRICS_SCRAPE_URL=metrics_url,
               TAGENT_METRICS_INTERVAL="1")
    cmd = tagent("run", "--kubeconfig", str(kubeconfig), "--rules", str(REPO), "--port", "0")
    with started(cmd, tmp, name, env) as (proc, out):
        port = wait_line(proc, out, r"Uvicorn running on http://127\.0\.0\.1:(\d+)").group(1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=10) as api:
            yield api, (proc, out)


def inject(kubeconfig: Path, fault: str, target: str) -> None:
    done = subprocess.run(tagent("sandbox", "inject", fault, "--target", target, "--kubeconfig", str(kubeconfig)),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr


def crashloop_decisions(api: httpx.Client) -> list[dict[str, Any]]:
    answer = api.get("/api/v1/decisions", params={"rule": "crashloop-restart"})
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return [d for d in rows if d["target"]["name"] == "payment-service"]


def test_tagent_run_against_tagent_sandbox_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    sandbox_cmd = tagent("sandbox", "up", "--speed", "10", "--kubeconfig-out", str(kubeconfig))
    with started(sandbox_cmd, tmp_path, "sandbox", env) as (sandbox, sandbox_out):
        metrics_url = wait_line(sandbox, sandbox_out, r"prometheus metrics: (\S+)").group(1)

        with engine_process(tmp_path, kubeconfig, metrics_url, "run-1") as (api, (proc, out)):
            ready = wait_for(lambda: (r := api.get("/readyz")).status_code == 200 and r.json(), 30, "/readyz")
            assert ready == {"ready": True, "checks": {"store": True, "cluster": True, "rules": True}}
            assert api.get("/api/v1/decisions").json() == []
            inject(kubeconfig, "crashloop", "shop/payment-service")
            first = wait_for(lambda: crashloop_decisions(api), 30, "a crashloop-restart decision")[-1]
            assert first["allowed"] is True and first["reason"] in ("ok", "dry_run"), first
            assert first["playbook"] == "restart-workload"
            stop(proc, out)

        # a new process on the same database: the crash loop comes back within the 10 min cooldown
        with engine_process(tmp_path, kubeconfig, metrics_url, "run-2") as (api, (proc, out)):
            wait_for(lambda: api.get("/readyz").status_code == 200, 30, "/readyz after the restart")
            inject(kubeconfig, "crashloop", "shop/payment-service")
            later = wait_for(lambda: [d for d in crashloop_decisions(api) if d["id"] != first["id"]], 30,
                             "the repeated crash loop's decision")
            assert {(d["allowed"], d["reason"]) for d in later} == {(False, "cooldown")}, later
            stop(proc, out)
        assert "sandbox stopped" in stop(sandbox, sandbox_out)
