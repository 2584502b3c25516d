"""Issue 18's failover guarantee on real processes: two `tagent run` replicas with leader election on one
`tagent sandbox up` and one PostgreSQL; the leader is SIGKILLed at random points of its playbook and comes back
as a follower; once more the leader is SIGSTOPped instead, and woken after the other replica took over: it
must write nothing under its old term and exit (3). The same code path as `tagent bench failover`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tagent.cli.bench_failover import run_failover_bench
from tagent.sandbox.scenario import generated_scenario
from tests.incidents.procs import env, sandbox_up, tagent

pytestmark = [pytest.mark.xdist_group("ha-failover"), pytest.mark.timeout(600)]
KILLS, PAUSES = 2, 1


def test_leader_killed_mid_playbook_fails_over_without_duplicates(postgres_url: str, tmp_path: Path) -> None:
    scenario = generated_scenario(KILLS + PAUSES, replicas=1, per_namespace=KILLS + PAUSES)
    targets = [(w.namespace, w.name) for w in scenario.spec.workloads]
    with sandbox_up(scenario, tmp_path) as kubeconfig:
        def inject(ns: str, name: str) -> None:
            done = subprocess.run(tagent("sandbox", "inject", "crashloop", "--target", f"{ns}/{name}", "--kubeconfig",
                                         str(kubeconfig)), capture_output=True, text=True, timeout=60, env=env())
            assert done.returncode == 0, done.stdout + done.stderr

        result = run_failover_bench(kubeconfig, postgres_url, targets, tmp_path, kills=KILLS, pauses=PAUSES, seed=7,
                                    inject=inject)
    print(f"\nfailover: {result}")
    assert result["problems"] == [], result
    assert (result["duplicate_mutations"], result["lost_runs"], result["stuck_incidents"]) == (0, 0, 0), result
    assert result["pauses"] == PAUSES and result["stale_writes"] == 0, result
    assert result["failover_s_max"] is not None and result["failover_s_max"] <= 15.0, result
