"""Failover on the real control plane (etcd, kube-apiserver and controllers of the pinned Kubernetes release):
the Lease calls and the chart's Lease Role against the real API server (its resourceVersion conflicts, its
MicroTime, its RBAC), and one SIGKILL of the leader mid-playbook with `tagent sandbox up --control-plane real`
(the real controllers, the simulated kubelet) and two `tagent run` replicas on one PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagent.app.leader import Elector, Timing
from tagent.cli.bench_failover import run_failover_bench
from tagent.clients.kubernetes import KubeClient, Leases
from tagent.errors import PermanentError
from tagent.sandbox.scenario import generated_scenario
from tagent.store import Fence, Store
from tests.chart.render import RELEASE, render
from tests.chart.value_sets import EXTERNAL_POSTGRES
from tests.fixtures.realk8s import REAL, RealK8s, require_control_plane
from tests.incidents.procs import env, tagent
from tests.waiting import wait_for

pytestmark = [REAL, pytest.mark.timeout(900)]
TIMING = Timing(duration=3.0, renew_deadline=1.2, retry_period=0.5)


def test_lease_election_with_the_charts_role_on_the_real_api_server(real_k8s: RealK8s, tmp_path: Path,
                                                                   postgres_url: str) -> None:
    rendered = render({**EXTERNAL_POSTGRES, "engine": {}})
    wanted = [o for o in rendered.objects if o["kind"] in ("ServiceAccount", "Role", "RoleBinding")]
    namespace = rendered.get("ServiceAccount", RELEASE)["metadata"]["namespace"]
    admin = KubeClient.from_kubeconfig(real_k8s.kubeconfig)
    try:
        admin.core.create_namespace({"metadata": {"name": namespace}})
        manifest = tmp_path / "ha-rbac.yaml"
        import yaml

        manifest.write_text(yaml.safe_dump_all(wanted), encoding="utf-8")
        done = subprocess.run(["kubectl", f"--kubeconfig={real_k8s.kubeconfig}", "apply", "-f", str(manifest)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    finally:
        admin.close()
    token = real_k8s.token_for(namespace, RELEASE)
    kube = KubeClient.from_kubeconfig(real_k8s.kubeconfig_for(tmp_path / "engine.kubeconfig", token, namespace))
    lease = f"{RELEASE}-engine"
    store = Store.open(postgres_url)
    try:
        a = Elector(Leases(kube.api_client), store.leadership, identity="real-a", namespace=namespace, name=lease,
                    timing=TIMING)
        b = Elector(Leases(kube.api_client), store.leadership, identity="real-b", namespace=namespace, name=lease,
                    timing=TIMING)
        assert a.try_acquire() and not b.try_acquire()
        time.sleep(TIMING.retry_period)
        assert a.renew()
        held = Leases(kube.api_client).get(namespace, lease)
        assert held is not None and held.spec.holder == "real-a" and held.spec.renewed_at is not None
        wait_for(b.try_acquire, TIMING.duration + 3, "real-b to take the expired Lease", interval=0.25)
        assert a.leading() is None and b.leading() == Fence(f"{namespace}/{lease}", 2)
        assert not a.renew() and a.lost.is_set()  # the real API server's resourceVersion conflict
        b.stop()
        released = Leases(kube.api_client).get(namespace, lease)
        assert released is not None and released.spec.holder == ""
        with pytest.raises(PermanentError, match="403"):  # the Role names the engine's Lease only
            Leases(kube.api_client).get(namespace, "kube-scheduler")
    finally:
        store.close()
        kube.close()


def test_leader_killed_mid_playbook_on_the_real_control_plane(tmp_path: Path, postgres_url: str) -> None:
    require_control_plane()
    scenario_path, kubeconfig, log = tmp_path / "scenario.yaml", tmp_path / "kc", tmp_path / "up.log"
    scenario = generated_scenario(1, replicas=1, per_namespace=1)
    from tagent.sandbox.scenario import dump_scenario

    scenario_path.write_text(dump_scenario(scenario), encoding="utf-8")
    with log.open("wb") as sink:
        up = subprocess.Popen([sys.executable, "-m", "tagent", "sandbox", "up", "--control-plane", "real",
                               "--scenario", str(scenario_path), "--kubeconfig-out", str(kubeconfig)], stdout=sink,
                              stderr=subprocess.STDOUT, env=env(), start_new_session=True)
    try:
        wait_for(lambda: "prometheus metrics:" in log.read_text() or up.poll() is not None, 240, "sandbox up (real)")
        assert up.poll() is None, log.read_text()[-2000:]

        def inject(ns: str, name: str) -> None:
            done = subprocess.run(tagent("sandbox", "inject", "crashloop", "--target", f"{ns}/{name}", "--kubeconfig",
                                         str(kubeconfig)), capture_output=True, text=True, timeout=60, env=env())
            assert done.returncode == 0, done.stdout + done.stderr

        targets = [(w.namespace, w.name) for w in scenario.spec.workloads]
        result = run_failover_bench(kubeconfig, postgres_url, targets, tmp_path, kills=1, seed=3, inject=inject)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGTERM)
            try:
                up.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait(10)
    print(f"\nreal control plane failover: {result}")
    assert result["problems"] == [], result
    assert (result["duplicate_mutations"], result["lost_runs"], result["stuck_incidents"]) == (0, 0, 0), result
    assert result["failover_s_max"] is not None and result["failover_s_max"] <= 15.0, result
