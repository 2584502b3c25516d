"""Rollout undo: the engine's `KubeClient.rollout_undo` on one deployment and `kubectl rollout undo` on an
identical twin (same name, labels and history, in a second namespace) must leave the same pod template, the
same annotations and the same ReplicaSet revisions, on the emulator and on real ReplicaSet history made by
the real deployment controller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tagent.actions import workloads as wl
from tests.conformance.cluster import Cluster
from tests.fixtures.realk8s import REAL

pytestmark = REAL
HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"

# name -> (steps after v1, undo's --to-revision or None, revision expected afterwards)
CASES: dict[str, tuple[tuple[str, ...], int | None, int]] = {
    "previous": (("image:2",), None, 3),
    "to-revision": (("image:2", "image:3"), 1, 4),
    "after-restart": (("image:2", "restart"), None, 4),
    "already-current": (("image:2",), 2, 2),
    "back-and-forth": (("image:2", "undo"), None, 4),
}
STAMP = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def make_history(c: Cluster, namespace: str, steps: tuple[str, ...], undo: Any) -> None:
    c.deployment("app", image="registry.example/app:1", replicas=1, namespace=namespace)
    c.wait_revision("app", 1, namespace)
    for revision, step in enumerate(steps, start=2):
        if step.startswith("image:"):
            c.set_image("app", f"registry.example/app:{step.split(':')[1]}", namespace)
        elif step == "restart":
            c.kube.rollout_restart(namespace, "app", at=STAMP)
        else:
            undo(namespace)
        c.wait_revision("app", revision, namespace)


def snapshot(c: Cluster, namespace: str) -> dict[str, Any]:
    d = c.kube.get_deployment_raw(namespace, "app")
    replicasets = sorted((rs["metadata"]["name"], wl.revision(rs),
                          (rs["metadata"].get("annotations") or {}).get(HISTORY_ANNOTATION, ""),
                          wl.comparable_template(wl.rs_template(rs), ignore_restart=False) == wl.comparable_template(
                              wl.deployment_template(d), ignore_restart=False))
                         for rs in c.replicasets("app", namespace))
    return {"template": d["spec"]["template"], "annotations": d["metadata"].get("annotations") or {},
            "generation": d["metadata"]["generation"], "replicasets": replicasets}


@pytest.mark.parametrize("case", list(CASES))
def test_rollout_undo_leaves_what_kubectl_leaves(cluster: Cluster, case: str) -> None:
    steps, to_revision, expected = CASES[case]
    ours, theirs = cluster.namespace, f"{cluster.namespace}-kubectl"
    cluster.create_namespace(theirs)
    if cluster.sandbox is None:
        def drop() -> None:
            cluster.kube.core.delete_namespace(theirs)

        cluster.cleanups.append(drop)

    def kubectl_undo(namespace: str, revision: int | None = None) -> str:
        args = ["rollout", "undo", "deployment/app", "-n", namespace]
        if revision is not None:
            args.append(f"--to-revision={revision}")
        return cluster.kubectl(*args).stdout

    def our_undo(namespace: str) -> None:
        cluster.kube.rollout_undo(namespace, "app")

    make_history(cluster, ours, steps, our_undo)
    make_history(cluster, theirs, steps, kubectl_undo)
    before = snapshot(cluster, ours)
    assert before == snapshot(cluster, theirs), "the twins differ before the undo"

    result = cluster.kube.rollout_undo(ours, "app", to_revision=to_revision)
    said = kubectl_undo(theirs, to_revision)
    if case == "already-current":
        assert result.skipped and "skipped rollback" in said, (result, said)
    else:
        assert not result.skipped and "rolled back" in said, (result, said)
    cluster.wait_revision("app", expected, ours)
    cluster.wait_revision("app", expected, theirs)
    after_ours, after_theirs = snapshot(cluster, ours), snapshot(cluster, theirs)
    assert after_ours == after_theirs
    if case == "already-current":
        assert after_ours == before
    else:
        assert after_ours["template"] != before["template"]
        # the ReplicaSet rolled back to is reused (renumbered), not recreated
        assert {name for name, *_ in after_ours["replicasets"]} == {name for name, *_ in before["replicasets"]}
    if case == "after-restart":  # kubectl's previous revision is the un-stamped v2, not v1
        assert after_ours["template"]["spec"]["containers"][0]["image"] == "registry.example/app:2"
        assert wl.RESTARTED_AT not in (after_ours["template"]["metadata"].get("annotations") or {})
