"""Tracker state machines on raw API objects where the sandbox cannot produce the situation: a node going
NotReady, a rollout that exceeds its progress deadline, target inference from labels."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tagent.model.core import WorkloadRef
from tagent.model.policy import Rule
from tagent.policy.validate import load_ruleset
from tagent.sources.base import SourceQuery, rule_queries
from tagent.sources.exposition import histogram_quantile
from tagent.sources.kube_view import ClusterView
from tagent.sources.kube_workloads import NodeTracker, WorkloadTracker
from tagent.sources.targets import owner_from_pod_name, target_from_labels

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _view(clock: Clock) -> ClusterView:
    return ClusterView(owner_of=lambda pod: WorkloadRef(kind="Pod", namespace=pod.namespace, name=pod.name),
                       clock=clock)


def node(ready: str) -> dict[str, Any]:
    return {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "node-a", "labels": {"zone": "a"}},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready}]}}


def test_node_ready_transitions() -> None:
    tracker = NodeTracker(_view(Clock()))
    assert tracker.observe("ADDED", node("True")) == []
    (down,) = tracker.observe("MODIFIED", node("Unknown"))
    assert (down.kind, down.reason, down.target) == ("Node", "NodeNotReady", WorkloadRef(kind="Node", name="node-a"))
    assert down.labels == {"zone": "a"}
    assert tracker.observe("MODIFIED", node("False")) == []  # still not ready: no repeat
    assert [e.reason for e in tracker.observe("MODIFIED", node("True"))] == ["NodeReady"]
    fresh = NodeTracker(_view(Clock()))
    assert [e.reason for e in fresh.observe("ADDED", node("False"))] == ["NodeNotReady"]  # bad news at first sight


def deployment(image: str, generation: int, observed: int, updated: int, available: int,
               revision: int, progressing: tuple[str, str] = ("True", "NewReplicaSetAvailable")) -> dict[str, Any]:
    return {"kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "namespace": "shop", "generation": generation, "labels": {"app": "web"},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 600, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}},
            "status": {"observedGeneration": observed, "replicas": 2, "updatedReplicas": updated,
                       "readyReplicas": available, "availableReplicas": available,
                       "conditions": [{"type": "Progressing", "status": progressing[0],
                                       "reason": progressing[1]}]}}


def test_rollout_stalls_past_its_deadline_once() -> None:
    clock = Clock()
    tracker = WorkloadTracker(_view(clock))
    assert tracker.observe("ADDED", deployment("web:1", 1, 1, 2, 2, 1)) == []
    (started,) = tracker.observe("MODIFIED", deployment("web:2", 2, 1, 2, 2, 1))
    assert (started.reason, started.values, started.labels) == ("RolloutStarted", {"revision": 2.0}, {"app": "web"})
    assert tracker.observe("MODIFIED", deployment("web:2", 2, 2, 1, 2, 2, ("True", "ReplicaSetUpdated"))) == []
    clock.now = T0 + timedelta(seconds=599)
    assert tracker.tick() == []
    clock.now = T0 + timedelta(seconds=601)
    (stalled,) = tracker.tick()
    assert stalled.reason == "RolloutStalled" and stalled.target == WorkloadRef(namespace="shop", name="web")
    assert tracker.tick() == []
    (finished,) = tracker.observe("MODIFIED", deployment("web:2", 2, 2, 2, 2, 2))
    assert finished.reason == "RolloutFinished" and finished.values == {"revision": 2.0}


def test_controller_deadline_condition_means_stalled() -> None:
    tracker = WorkloadTracker(_view(Clock()))
    tracker.observe("ADDED", deployment("web:1", 1, 1, 2, 2, 1))
    tracker.observe("MODIFIED", deployment("web:2", 2, 1, 2, 2, 1))
    stalled = deployment("web:2", 2, 2, 1, 1, 2, ("False", "ProgressDeadlineExceeded"))
    assert [e.reason for e in tracker.observe("MODIFIED", stalled)] == ["RolloutStalled"]
    assert tracker.observe("MODIFIED", copy.deepcopy(stalled)) == []


def test_first_sight_mid_rollout_can_finish_but_plain_unavailability_is_no_rollout() -> None:
    tracker = WorkloadTracker(_view(Clock()))
    tracker.observe("SYNC", deployment("web:2", 2, 2, 1, 1, 2, ("True", "ReplicaSetUpdated")))
    assert [e.reason for e in tracker.observe("MODIFIED", deployment("web:2", 2, 2, 2, 2, 2))] == ["RolloutFinished"]
    other = WorkloadTracker(_view(Clock()))
    other.observe("SYNC", deployment("web:1", 1, 1, 2, 0, 1))  # every pod updated, none available
    assert other.observe("MODIFIED", deployment("web:1", 1, 1, 2, 2, 1)) == []


def test_targets_from_labels() -> None:
    assert target_from_labels({"namespace": "a", "deployment": "d", "pod": "x"}) == WorkloadRef(namespace="a", name="d")
    assert target_from_labels({"namespace": "a", "statefulset": "db"}) == WorkloadRef(kind="StatefulSet",
                                                                                      namespace="a", name="db")
    assert target_from_labels({"namespace": "a", "workload": "w", "workload_type": "statefulset"}).kind == \
        "StatefulSet"  # type: ignore[union-attr]
    assert target_from_labels({"namespace": "a", "app": "web"}) == WorkloadRef(namespace="a", name="web")
    assert target_from_labels({"namespace": "a", "pod": "web-5d8f9c7b6d-abcde"}) == WorkloadRef(namespace="a",
                                                                                                name="web")
    assert target_from_labels({"node": "n1"}) == WorkloadRef(kind="Node", name="n1")
    assert target_from_labels({"job": "x"}) is None
    assert owner_from_pod_name("a", "db-0") == WorkloadRef(kind="StatefulSet", namespace="a", name="db")
    assert owner_from_pod_name("a", "standalone") == WorkloadRef(kind="Pod", namespace="a", name="standalone")


def test_histogram_quantile_like_prometheus() -> None:
    inf = float("inf")
    assert histogram_quantile(0.99, {0.1: 50, 0.25: 90, 0.5: 100, inf: 100}) == pytest.approx(0.475)
    assert histogram_quantile(0.5, {0.1: 50, 0.25: 90, inf: 100}) == pytest.approx(0.1)
    assert histogram_quantile(0.99, {0.1: 0, 0.25: 0, inf: 10}) == 0.25  # beyond the last bound
    assert math.isnan(histogram_quantile(0.99, {0.1: 0, inf: 0}))


def test_rule_queries_from_the_default_pack_and_a_compound_rule() -> None:
    root = Path(__file__).resolve().parents[2]
    ruleset = load_ruleset([root / "rules", root / "playbooks"], promtool=None)
    promql, patterns = rule_queries(ruleset.rules.values())
    assert SourceQuery("error-spike-rollback#0", '" 500 ', 60.0) in patterns
    compound = Rule.model_validate({
        "apiVersion": "tagent.io/v1", "kind": "Rule", "metadata": {"name": "deploy-then-errors"},
        "spec": {"when": {"all": [
            {"kubernetes": {"reason": "RolloutStarted"}},
            {"prometheus": {"query": "sum by (namespace, deployment) (rate(x[1m]))", "op": ">", "value": 1}},
            {"logs": {"pattern": "panic", "count": ">0", "window": "2m"}}], "within": "10m"}, "mode": "notify"}})
    disabled = compound.model_copy(update={"spec": compound.spec.model_copy(update={"enabled": False})})
    promql, patterns = rule_queries([compound, disabled])
    assert promql == [SourceQuery("deploy-then-errors#1", "sum by (namespace, deployment) (rate(x[1m]))")]
    assert patterns == [SourceQuery("deploy-then-errors#2", "panic", 120.0)]
