"""The chart's RBAC is exactly the least privilege the issue lists, and readOnly drops every mutating verb."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.render import MUTATING_VERBS, NAMESPACE, RELEASE, Rendered, render
from tests.chart.value_sets import VALUE_SETS

READS = {"get", "list", "watch"}
# (apiGroup, resource) -> verbs: the issue's list, nothing more.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("", "pods"): READS | {"delete"},
    ("", "pods/log"): READS,
    ("", "events"): READS,
    ("", "nodes"): READS,
    ("", "namespaces"): READS,
    ("", "pods/eviction"): {"create"},
    ("apps", "deployments"): READS | {"patch", "delete"},  # delete: chat, after the name is typed back
    ("apps", "replicasets"): READS,
    ("apps", "statefulsets"): READS | {"patch"},  # rollout restart of a StatefulSet
    ("apps", "deployments/scale"): {"patch"},
    ("apps", "statefulsets/scale"): {"patch"},
    ("metrics.k8s.io", "pods"): READS,
    ("metrics.k8s.io", "nodes"): READS,
}


def grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """Flatten a Role/ClusterRole to (apiGroup, resource) -> verbs."""
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert not rule.get("resourceNames") and not rule.get("nonResourceURLs"), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


@pytest.fixture(scope="module")
def read_only() -> Rendered:
    return render(VALUE_SETS["read-only"])


def test_cluster_role_grants_exactly_the_issue_list(default: Rendered) -> None:
    assert grants(default.get("ClusterRole", RELEASE)) == EXPECTED


def test_read_only_cluster_role_keeps_only_reads(read_only: Rendered) -> None:
    granted = grants(read_only.get("ClusterRole", RELEASE))
    assert granted == {key: verbs & READS for key, verbs in EXPECTED.items() if verbs & READS}
    assert not any(verbs & MUTATING_VERBS for verbs in granted.values())
    # and the engine itself is told not to mutate
    assert read_only.env("engine")["TAGENT_DRY_RUN"]["value"] == "true"
    assert "READ-ONLY MODE" in read_only.notes


def test_read_only_writes_nothing_anywhere(read_only: Rendered) -> None:
    """No Role or ClusterRole of the read-only chart holds a mutating verb (one replica has no Lease or other
    record of its own in the cluster: its state is in its database; several replicas: tests/chart/test_ha.py)."""
    roles = read_only.all("Role") + read_only.all("ClusterRole")
    assert roles
    for role in roles:
        assert not any(verbs & MUTATING_VERBS for verbs in grants(role).values()), role["metadata"]["name"]


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_no_wildcard_no_secrets_no_exec_no_escalation(case: str) -> None:
    rendered = render(VALUE_SETS[case])
    roles = rendered.all("Role") + rendered.all("ClusterRole")
    assert roles
    for role in roles:
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (role["metadata"]["name"], rule)
        resources = {res for rule in role["rules"] for res in rule["resources"]}
        assert not resources & {"secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token",
                                "roles", "clusterroles", "rolebindings", "clusterrolebindings"}
        verbs = {v for rule in role["rules"] for v in rule["verbs"]}
        assert not verbs & {"escalate", "bind", "impersonate", "deletecollection"}
    for binding in rendered.all("ClusterRoleBinding") + rendered.all("RoleBinding"):
        assert binding["roleRef"]["name"] != "cluster-admin"
        assert binding["roleRef"]["name"] in {r["metadata"]["name"] for r in roles}


def test_one_cluster_role_and_no_namespaced_role(default: Rendered) -> None:
    """One replica (SQLite) elects no leader, so there is no Role for a Lease: least privilege."""
    assert [r["metadata"]["name"] for r in default.all("ClusterRole")] == [RELEASE]
    assert not default.all("Role") and not default.all("RoleBinding")
    assert "coordination.k8s.io" not in {g for rule in default.get("ClusterRole", RELEASE)["rules"]
                                         for g in rule["apiGroups"]}


def test_bindings_name_the_engine_service_account(default: Rendered) -> None:
    sa = default.get("ServiceAccount", RELEASE)
    assert sa["metadata"]["namespace"] == NAMESPACE
    for binding in default.all("ClusterRoleBinding"):
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}]
    engine = default.deployment("engine")["spec"]["template"]["spec"]
    dashboard = default.deployment("dashboard")["spec"]["template"]["spec"]
    assert engine["serviceAccountName"] == RELEASE
    # the dashboard only talks to the engine's API: no Kubernetes token in its pod
    assert dashboard["automountServiceAccountToken"] is False


def test_rbac_can_be_left_to_the_cluster_admin() -> None:
    rendered = render({"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "sre-bot"}})
    assert not rendered.all("ClusterRole") and not rendered.all("Role") and not rendered.all("ServiceAccount")
    assert rendered.deployment("engine")["spec"]["template"]["spec"]["serviceAccountName"] == "sre-bot"


# What each Kubernetes action of the engine's catalog needs from the API, per workload kind: the calls
# kubectl makes for the same command (shared/design/k8s-api-subset.md).
_REQUIRED: dict[tuple[str, str], set[tuple[str, str, str]]] = {
    ("kubernetes.rollout_restart", "Deployment"): {("apps", "deployments", "patch")},
    ("kubernetes.rollout_restart", "StatefulSet"): {("apps", "statefulsets", "patch")},
    ("kubernetes.rollout_undo", "Deployment"): {("apps", "replicasets", "list"), ("apps", "deployments", "patch")},
    ("kubernetes.rollout_undo", "StatefulSet"): set(),  # undo is Deployment-only: the action refuses it
    ("kubernetes.scale", "Deployment"): {("apps", "deployments", "get"), ("apps", "deployments/scale", "patch")},
    ("kubernetes.scale", "StatefulSet"): {("apps", "statefulsets", "get"), ("apps", "statefulsets/scale", "patch")},
    ("kubernetes.wait_healthy", "Deployment"): {("apps", "deployments", "get")},
    ("kubernetes.wait_healthy", "StatefulSet"): {("apps", "statefulsets", "get")},
    ("kubernetes.delete_pod", ""): {("", "pods", "delete")},
    ("kubernetes.evict_pod", ""): {("", "pods/eviction", "create")},
    ("kubernetes.delete_deployment", ""): {("apps", "deployments", "delete")},
}
# Kinds the catalog accepts that the role does not cover (such a step would get 403 from the API server).
# Empty since the role patches StatefulSets too (found by the conformance tier on a real kube-apiserver).
_NOT_COVERED: set[tuple[str, str]] = set()


def test_cluster_role_covers_the_action_catalog(default: Rendered) -> None:
    catalog = pytest.importorskip("tagent.actions.catalog").CATALOG
    granted = {(g, r, v) for (g, r), verbs in grants(default.get("ClusterRole", RELEASE)).items() for v in verbs}
    uncovered = set()
    for name, action in catalog.items():
        if not name.startswith("kubernetes."):
            continue
        kind = action.param("kind")
        for k in (kind.choices if kind is not None else ("",)):
            assert (name, k) in _REQUIRED, f"no permission table entry for {name} on {k or 'pods'}"
            if not _REQUIRED[(name, k)] <= granted:
                uncovered.add((name, k))
    assert uncovered == _NOT_COVERED
