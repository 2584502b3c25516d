"""kill -9 in the middle of a playbook, again and again: no step is lost and no mutation is repeated.

Engines are forked from a zygote process (tests/playbooks/crashworker.py) and killed with SIGKILL while a
step runs (right after its journal row appears, or a little later); a new engine then resumes the run. The
playbook scales by +1, restarts, waits, scales by -1, restarts, waits: four spec changes per run. A
repeated `delta` would leave the replica count off, a repeated restart would bump the generation once more
(every restart stamp is distinct), and a lost step would leave the journal without its finish row.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tagent.actions import ActionDeps, build_registry
from tagent.clients.kubernetes import KubeClient
from tagent.guard import Guard
from tagent.model import StepStatus
from tagent.playbooks import PlaybookRunner
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tagent.store import RunStatus, Store
from tests.actions.harness import CART, sqlite_copy
from tests.playbooks.conftest import spec

ROOT = Path(__file__).resolve().parents[2]
WL = {"namespace": "shop", "name": "cart", "kind": "Deployment"}
PLAYBOOK = spec([
    {"name": "scale-up", "action": "kubernetes.scale", "with": {**WL, "delta": 1, "max_replicas": 20}},
    {"name": "restart-1", "action": "kubernetes.rollout_restart", "with": WL},
    {"name": "wait-1", "action": "kubernetes.wait_healthy", "with": WL, "timeout": "60s"},
    {"name": "scale-down", "action": "kubernetes.scale", "with": {**WL, "delta": -1, "min_replicas": 1}},
    {"name": "restart-2", "action": "kubernetes.rollout_restart", "with": WL},
    {"name": "wait-2", "action": "kubernetes.wait_healthy", "with": WL, "timeout": "60s"},
])
SPEC_CHANGES_PER_RUN = 4
TERMINAL = (RunStatus.succeeded, RunStatus.failed)


class Zygote:
    def __init__(self, db_url: str, kubeconfig: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.playbooks.crashworker", db_url, str(kubeconfig)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def _ask(self, command: dict[str, object], expect: str) -> list[str]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        words = self.proc.stdout.readline().split()
        assert words and words[0] == expect, f"zygote said {words!r}"
        return words

    def engine(self, run_id: str) -> int:
        return int(self._ask({"run_id": run_id}, "pid")[1])

    def reap(self, pid: int) -> int:
        return int(self._ask({"wait": pid}, "exit")[2])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=20)


@dataclass(frozen=True)
class State:
    generation: int
    replicas: int
    restarted_at: str | None


def state(kube: KubeClient) -> State:
    raw = kube.get_deployment_raw("shop", "cart")
    stamp = (raw["spec"]["template"]["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/restartedAt")
    return State(int(raw["metadata"]["generation"]), int(raw["spec"]["replicas"]), stamp)


def until(predicate: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    with Sandbox(speed=30) as sandbox:
        yield sandbox, sandbox.write_kubeconfig(tmp_path / "kubeconfig")


def crash_loop(db_url: str, kubeconfig: Path, kills_wanted: int, seed: int) -> dict[str, int]:
    store = Store.open(db_url)
    kube = KubeClient.from_kubeconfig(kubeconfig)
    creator = PlaybookRunner(store, build_registry(ActionDeps(store=store, guard=Guard(store, Settings()))))
    zygote = Zygote(db_url, kubeconfig)
    rng = random.Random(seed)
    kills = runs = 0
    try:
        until(lambda: kube.rollout_status("shop", "cart").complete)
        while kills < kills_wanted:
            before = state(kube)
            run = creator.create(PLAYBOOK, playbook="crash-test", origin="test:crash", target=CART)
            runs += 1

            def rows(run_id: str = run.id) -> int:
                return len(store.runs.journal(run_id))

            def done(run_id: str = run.id) -> bool:
                record = store.runs.get(run_id)
                return record is not None and record.status in TERMINAL

            while not done():
                pid = zygote.engine(run.id)
                if kills < kills_wanted:
                    target = rows() + rng.randint(1, 3)
                    until(lambda t=target: rows() >= t or done())  # type: ignore[misc]
                    if not done():
                        time.sleep(rng.choice([0.0, 0.0, rng.uniform(0.0, 0.15)]))
                        os.kill(pid, signal.SIGKILL)
                        status = zygote.reap(pid)
                        if status == 0:  # the engine finished the run just before the kill landed
                            assert done()
                            continue
                        assert status == -signal.SIGKILL
                        kills += 1
                        continue
                until(done)
                assert zygote.reap(pid) == 0
            check_run(store, run.id, before, state(kube))
        in_doubt = sum(1 for r in store.runs.list(limit=1000) for e in store.runs.journal(r.id)
                       if e.section == "steps" and e.phase == "start" and e.attempt > 1)
        return {"kills": kills, "runs": runs, "in_doubt_resumes": in_doubt}
    finally:
        zygote.close()
        kube.close()
        store.close()


def check_run(store: Store, run_id: str, before: State, after: State) -> None:
    record = store.runs.get(run_id)
    assert record is not None and record.status == RunStatus.succeeded, record
    journal = store.runs.journal(run_id)
    finishes = [e for e in journal if e.section == "steps" and e.phase == "finish"]
    assert sorted(e.index for e in finishes) == list(range(len(PLAYBOOK.steps))), "a step was lost or doubled"
    assert all(e.result is not None and e.result.status == StepStatus.ok for e in finishes)
    assert after.generation - before.generation == SPEC_CHANGES_PER_RUN, (before, after)
    assert after.replicas == before.replicas, (before, after)
    last_restart = next(e for e in finishes if e.name == "restart-2")
    assert last_restart.result is not None and after.restarted_at == last_restart.result.data["plan"]["stamp"]


def test_sigkill_twenty_times_loses_no_step_and_repeats_no_mutation(cluster: tuple[Sandbox, Path],
                                                                    tmp_path: Path) -> None:
    _, kubeconfig = cluster
    report = crash_loop(sqlite_copy(tmp_path / "crash.db"), kubeconfig, kills_wanted=20, seed=20261126)
    assert report["kills"] == 20
    assert report["in_doubt_resumes"] >= 1, report  # some kills hit a step that had started


def test_sigkill_with_postgresql_journal(cluster: tuple[Sandbox, Path], postgres_url: str) -> None:
    _, kubeconfig = cluster
    Store.open(postgres_url).close()  # migrate once before the engines race to
    report = crash_loop(postgres_url, kubeconfig, kills_wanted=6, seed=7)
    assert report["kills"] == 6
