"""Issue 14's crash guarantees on the real engine process: `tagent run` is SIGKILLed at random points of an
incident (before the decision, between the admission and the playbook, inside the restart, during the wait
for health) 20 times, on SQLite and on PostgreSQL, against `tagent sandbox up` in another process.

Every round crash-loops a fresh workload (one per round: the rule's 10 min cooldown), kills the engine at a
random moment after the fault (half measured from the injection, half from the incident's row), restarts it
on the same database, and waits for the incident to close. Then, per round:
- 0 duplicate mutations: the workload's generation went up by exactly one (one rolling restart, however the
  kill fell), and the audit log has at most one restart for it;
- 0 lost runs: every decision the guard let act has its playbook run, and every run finished;
- 0 incidents left open once the fault is fixed;
- a run interrupted by the kill continues within 5 s of the restart (its journal moves on, or it finishes):
  the same engine identity restarting owns it at once.
"""

from __future__ import annotations

import random
import time
from functools import partial
from pathlib import Path

import pytest
from kubernetes import client as k8s  # the official client: the test looks from outside the engine

from tagent.model import Incident
from tagent.sandbox.scenario import generated_scenario
from tagent.store import RunStatus, Store
from tests.incidents.procs import pack, run_engine, sandbox_up
from tests.waiting import wait_for

pytestmark = [pytest.mark.timeout(1800)]  # each database its own xdist group: the two can run side by side
ROUNDS = 20
RESUME_BOUND_S = 5.0


def _apps(kubeconfig: Path) -> k8s.AppsV1Api:
    from kubernetes import config

    return k8s.AppsV1Api(config.new_client_from_config(str(kubeconfig)))


def _generation(apps: k8s.AppsV1Api, namespace: str, name: str) -> int:
    meta = apps.read_namespaced_deployment(name, namespace).metadata
    assert meta is not None and meta.generation is not None
    return int(meta.generation)


def _inject(kubeconfig: Path, target: str) -> None:
    """`tagent sandbox inject crashloop` (the command's own code, in this process: a second interpreter start
    per round cost ~2 s of the suite and proves nothing about the engine)."""
    from tagent.cli.common import Output
    from tagent.cli.sandbox_cmd import inject

    inject("crashloop", target=target, kubeconfig_path=kubeconfig, param=[], output=Output.json)


def _incidents_of(store: Store, namespace: str, name: str) -> list[Incident]:
    return [i for i in store.incidents.list(limit=1000) if i.target.namespace == namespace and i.target.name == name]


def _all_closed(store: Store, ns: str, name: str) -> bool:
    incidents = _incidents_of(store, ns, name)
    return bool(incidents) and all(i.status.closed for i in incidents)


def _journal_size(store: Store, run_id: str) -> int:
    return len(store.runs.journal(run_id))


def _moved_on(store: Store, run_id: str, size: int) -> bool:
    """The run wrote a journal row since the kill, or finished."""
    run = store.runs.get(run_id)
    return _journal_size(store, run_id) > size or (run is not None and run.status != RunStatus.running)


@pytest.mark.parametrize("database", [pytest.param("sqlite", marks=pytest.mark.xdist_group("incidents-kill-sqlite")),
                                      pytest.param("postgresql", marks=pytest.mark.xdist_group("incidents-kill-pg"))])
def test_twenty_kills_at_random_points_lose_nothing_and_repeat_nothing(database: str, tmp_path: Path,
                                                                       request: pytest.FixtureRequest) -> None:
    db_url = (f"sqlite:///{tmp_path / 'tagent.db'}" if database == "sqlite"
              else request.getfixturevalue("postgres_url"))
    rng = random.Random(14)
    scenario = generated_scenario(ROUNDS, replicas=1, per_namespace=ROUNDS)
    rules = pack(tmp_path / "pack")
    resumed_after: list[float] = []
    with sandbox_up(scenario, tmp_path) as kubeconfig:
        apps = _apps(kubeconfig)
        store = Store.open(db_url)
        try:
            for n, workload in enumerate(scenario.spec.workloads):
                ns, name = workload.namespace, workload.name
                before = _generation(apps, ns, name)
                with run_engine(tmp_path, kubeconfig, rules, db_url, 2 * n) as engine:
                    engine.wait_line(r"Uvicorn running", 90)
                    _inject(kubeconfig, f"{ns}/{name}")
                    if n % 2:  # a moment after the incident's row exists: admission, restart or wait
                        wait_for(partial(_incidents_of, store, ns, name), 60, f"an incident on {name}")
                        time.sleep(rng.uniform(0.0, 1.5))
                    else:  # a moment after the fault: maybe before anything was decided
                        time.sleep(rng.uniform(0.5, 4.0))
                    engine.kill()
                runs_at_kill = {r.id: _journal_size(store, r.id) for r in store.runs.list(status=RunStatus.running)}
                with run_engine(tmp_path, kubeconfig, rules, db_url, 2 * n + 1) as engine:
                    up = engine.wait_line(r"resumed \d+ playbook runs|Uvicorn running", 90)
                    t_up = time.monotonic()
                    for run_id, size in runs_at_kill.items():
                        wait_for(partial(_moved_on, store, run_id, size), 30,
                                 f"run {run_id} to continue after the restart ({up.group(0)})", interval=0.05)
                        resumed_after.append(time.monotonic() - t_up)
                    wait_for(partial(_all_closed, store, ns, name), 120, f"every incident on {name} to close")
                _check_round(store, apps, ns, name, before, engine.text())
        finally:
            store.close()
    assert max(resumed_after, default=0.0) <= RESUME_BOUND_S, resumed_after
    print(f"\n{database}: {ROUNDS} kills; interrupted runs continued after {sorted(resumed_after)} s")


def _check_round(store: Store, apps: k8s.AppsV1Api, ns: str, name: str, before: int, log: str) -> None:
    incidents = _incidents_of(store, ns, name)
    assert incidents and all(i.status.closed for i in incidents), [(i.id, i.status) for i in incidents]
    assert any(i.status.value == "resolved" for i in incidents), log[-3000:]
    assert _generation(apps, ns, name) == before + 1, "one rolling restart, not zero, not two"
    restarts = [a for a in store.audit.list(limit=1000) if a.action == "kubernetes.rollout_restart"
                and a.target_key.endswith(f"/{ns}/{name}") and a.result == "ok"]
    assert len(restarts) <= 1, restarts
    acted = [r for r in store.decisions.list(limit=1000)
             if r.decision.target.name == name and r.verdict is not None and r.verdict.allowed]
    runs = {r.id: r for r in store.runs.list(limit=1000) if r.target.name == name}
    for record in acted:
        assert record.decision.id in runs, f"decision {record.decision.id} was let act but has no run"
    assert all(r.status in (RunStatus.succeeded, RunStatus.failed) for r in runs.values()), runs
