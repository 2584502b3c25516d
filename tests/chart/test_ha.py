"""The chart's high-availability values (docs/ha.md): two engine replicas by default with PostgreSQL, one with
SQLite (and a clear refusal of more), leader election wired through the env, the Lease Role, a
PodDisruptionBudget and pod anti-affinity; `helm lint --strict` and `helm template` with the real binary."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from tests.chart import helm_binary
from tests.chart.render import CHART, MUTATING_VERBS, NAMESPACE, RELEASE, render
from tests.chart.value_sets import EXTERNAL_POSTGRES

POSTGRES: dict[str, Any] = {"database": EXTERNAL_POSTGRES["database"]}  # replicas left to the chart


def test_sqlite_default_is_one_replica_without_election() -> None:
    rendered = render()
    assert rendered.deployment("engine")["spec"]["replicas"] == 1
    assert "TAGENT_LEADER_ELECTION" not in rendered.env("engine")
    assert not rendered.all("Role") and not rendered.all("PodDisruptionBudget")
    assert "affinity" not in rendered.deployment("engine")["spec"]["template"]["spec"]


def test_postgres_default_is_two_replicas_electing_a_leader() -> None:
    rendered = render(POSTGRES)
    engine = rendered.deployment("engine")
    assert engine["spec"]["replicas"] == 2
    assert engine["spec"].get("strategy", {}).get("type") != "Recreate"
    env = rendered.env("engine")
    assert env["TAGENT_LEADER_ELECTION"]["value"] == "true"
    assert env["TAGENT_LEASE_NAME"]["value"] == f"{RELEASE}-engine"
    assert env["TAGENT_LEASE_NAMESPACE"]["value"] == NAMESPACE
    assert env["POD_IP"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
    assert env["TAGENT_ADVERTISE_URL"]["value"] == "http://$(POD_IP):8080"
    names = [e["name"] for e in rendered.container("engine")["env"]]
    assert names.index("POD_IP") < names.index("TAGENT_ADVERTISE_URL")  # $(POD_IP) expands only after it
    assert (env["TAGENT_LEASE_DURATION"]["value"], env["TAGENT_LEASE_RENEW_DEADLINE"]["value"],
            env["TAGENT_LEASE_RETRY_PERIOD"]["value"]) == ("10", "6", "2")
    # every replica is ready when it serves: the readiness probe is the same for leader and follower
    assert rendered.container("engine")["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_lease_role_is_the_engines_own_lease_in_the_release_namespace() -> None:
    rendered = render(POSTGRES)
    role = rendered.get("Role", f"{RELEASE}-leader-election")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [f"{RELEASE}-engine"],
         "verbs": ["get", "update"]},
    ]
    binding = rendered.get("RoleBinding", f"{RELEASE}-leader-election")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": f"{RELEASE}-leader-election"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}]


def test_disruption_budget_and_anti_affinity_keep_one_replica_up() -> None:
    rendered = render(POSTGRES)
    pdb = rendered.get("PodDisruptionBudget", f"{RELEASE}-engine")
    selector = rendered.deployment("engine")["spec"]["selector"]["matchLabels"]
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": selector}}
    anti = rendered.deployment("engine")["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term == {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": selector}}
    # the operator's own affinity wins; the budget can be turned off
    own = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["ops"]}]}]}}}
    mine = render({**POSTGRES, "engine": {"affinity": own, "podDisruptionBudget": False}})
    assert mine.deployment("engine")["spec"]["template"]["spec"]["affinity"] == own
    assert not mine.all("PodDisruptionBudget")


def test_read_only_replicas_may_write_their_lease_and_nothing_else() -> None:
    rendered = render({**POSTGRES, "readOnly": True})
    for role in rendered.all("Role") + rendered.all("ClusterRole"):
        for rule in role["rules"]:
            if set(rule["verbs"]) & MUTATING_VERBS:
                assert rule["resources"] == ["leases"] and role["kind"] == "Role", role["metadata"]["name"]


def test_one_replica_with_postgres_needs_no_election() -> None:
    rendered = render({**POSTGRES, "engine": {"replicas": 1}})
    assert rendered.deployment("engine")["spec"]["replicas"] == 1
    assert not rendered.all("Role") and not rendered.all("PodDisruptionBudget")


@pytest.fixture(scope="module")
def helm() -> str:
    found = helm_binary.find()
    if found is None:
        pytest.skip("the helm binary is not built (python -m tests.chart.helm_binary)")
    return str(found)


def test_helm_binary_lints_and_renders_the_ha_values(helm: str) -> None:
    ha = ["--set", "database.existingSecret=tagent-db"]
    lint = subprocess.run([helm, "lint", "--strict", str(CHART), *ha], capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    out = subprocess.run([helm, "template", RELEASE, str(CHART), "-n", NAMESPACE, *ha], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(out.stdout) if doc}
    assert {"PodDisruptionBudget", "Role", "RoleBinding"} <= kinds
    refused = subprocess.run([helm, "template", RELEASE, str(CHART), "--set", "engine.replicas=2"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0
    assert "engine.replicas > 1 needs database.existingSecret (PostgreSQL)" in refused.stderr
