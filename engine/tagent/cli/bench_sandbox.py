"""A sandbox in a child process for the benchmarks (`tagent sandbox up`), so the simulation's threads do not
compete with the engine under measurement for the interpreter lock. The child dies with the benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tagent.errors import TagentError
from tagent.sandbox.scenario import Scenario, dump_scenario


@contextlib.contextmanager
def sandbox_process(scenario: Scenario, tmp: Path, timeout: float = 120.0, speed: float = 1.0) -> Iterator[Path]:
    """Start `tagent sandbox up` on `scenario`; yields its kubeconfig once the API answers."""
    path, kubeconfig, log = tmp / "scenario.yaml", tmp / "kubeconfig", tmp / "sandbox.log"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "tagent", "sandbox", "up", "--scenario", str(path),
                                 "--kubeconfig-out", str(kubeconfig), "--speed", str(speed)],
                                stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while b"prometheus metrics:" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise TagentError("the benchmark's sandbox did not start: "
                                  + log.read_text(encoding="utf-8", errors="replace")[-500:])
            time.sleep(0.2)
        yield kubeconfig
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
