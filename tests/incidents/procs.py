"""Real processes for the incident guarantees: `tagent sandbox up` and `tagent run`, started, read and killed
as an operator (or the OOM killer) would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tagent.cli.bench_failover import PLAYBOOK, RULE
from tagent.sandbox.scenario import Scenario, dump_scenario
from tests.waiting import wait_for

# the crash-loop rule and its restart playbook: the same pack the failover benchmark runs


def tagent(*args: str) -> list[str]:
    return [sys.executable, "-m", "tagent", *args]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}


def pack(root: Path) -> Path:
    """One rule and its playbook: nothing else in the cluster is touched, so every mutation is counted."""
    (root / "rules").mkdir(parents=True, exist_ok=True)
    (root / "playbooks").mkdir(exist_ok=True)
    (root / "rules" / "crashloop.yaml").write_text(RULE)
    (root / "playbooks" / "restart.yaml").write_text(PLAYBOOK)
    return root


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path
    started: float

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_line(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        def probe() -> re.Match[str] | None:
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.popen.args!r} exited with {self.popen.returncode}:\n{self.text()[-3000:]}")
            return re.search(pattern, self.text())

        return wait_for(probe, timeout, f"{pattern!r} in {self.log.name}", interval=0.05)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)


@contextmanager
def started(cmd: list[str], log: Path, extra: dict[str, str] | None = None) -> Iterator[Proc]:
    with log.open("ab") as sink:
        popen = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env={**env(), **(extra or {})},
                                 start_new_session=True)
    proc = Proc(popen, log, time.monotonic())
    try:
        yield proc
    finally:
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait(10)


@contextmanager
def sandbox_up(scenario: Scenario, tmp: Path, speed: float = 10.0) -> Iterator[Path]:
    path, kubeconfig = tmp / "scenario.yaml", tmp / "sandbox.kubeconfig"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    cmd = tagent("sandbox", "up", "--scenario", str(path), "--speed", str(speed), "--kubeconfig-out", str(kubeconfig))
    with started(cmd, tmp / "sandbox.log") as proc:
        proc.wait_line(r"prometheus metrics: (\S+)", 60)
        yield kubeconfig


def run_engine(tmp: Path, kubeconfig: Path, rules: Path, db_url: str, n: int) -> AbstractContextManager[Proc]:
    """`tagent run` on `db_url` (its data dir, and so its engine identity, is the same every time)."""
    cmd = tagent("run", "--kubeconfig", str(kubeconfig), "--rules", str(rules), "--db", db_url, "--port", "0")
    return started(cmd, tmp / f"engine-{n:02d}.log", {"TAGENT_DATA_DIR": str(tmp / "data"),
                                                      "TAGENT_METRICS_INTERVAL": "1",
                                                      "TAGENT_INCIDENT_QUIET_AFTER": "15",
                                                      "TAGENT_BLAST_RADIUS_WORKLOADS_PER_WINDOW": "1000",
                                                      "TAGENT_RATE_LIMIT_GLOBAL_PER_HOUR": "1000",
                                                      "TAGENT_RATE_LIMIT_NAMESPACE_PER_HOUR": "1000",
                                                      "TAGENT_RESTART_MIN_INTERVAL": "0"})
