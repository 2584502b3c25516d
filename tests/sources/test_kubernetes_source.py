"""The Kubernetes source against the sandbox: injected faults become deduplicated events, a healthy cluster
yields none, and the threaded mode starts and stops cleanly."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient
from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.sources.kubernetes import KubernetesSource
from tests.sources.helpers import of, step_until

FAST = pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)  # sandbox seconds per wall second
CART = WorkloadRef(kind="Deployment", namespace="shop", name="cart")


@pytest.fixture
def source(sandbox: Any, kube_api: k8s.ApiClient) -> tuple[KubernetesSource, list[Event]]:
    events: list[Event] = []
    kube = KubeClient(kube_api, request_timeout=10)
    return KubernetesSource(kube, events.append, clock=sandbox.clock.now, not_ready_grace_s=30), events


@FAST
def test_healthy_cluster_is_quiet(source: tuple[KubernetesSource, list[Event]]) -> None:
    src, events = source
    for _ in range(4):
        src.poll_once(timeout_seconds=1)
    assert [e for e in events if e.kind != "K8sEvent" or e.labels.get("type") == "Warning"] == []
    assert src.stats["lists"] == 5 and src.stats["malformed_lines"] == 0


@FAST
def test_crashloop_is_reported_once_per_restart(source: tuple[KubernetesSource, list[Event]], sandbox: Any) -> None:
    src, events = source
    src.poll_once(timeout_seconds=1)
    sandbox.inject("crashloop", "shop", "cart")
    step_until(lambda: src.poll_once(timeout_seconds=1), events,
               lambda evs: {e.labels["pod"] for e in of(evs, "CrashLoopBackOff", "cart")} and
               max((e.values["restarts"] for e in of(evs, "CrashLoopBackOff", "cart")), default=0) >= 3)
    crashes = of(events, "CrashLoopBackOff", "cart")
    for e in crashes:
        assert e.source == EventSource.kubernetes and e.kind == "PodState" and e.target == CART
        assert e.labels["tier"] == "backend" and e.labels["pod"].startswith("cart-")
        assert "pod-template-hash" not in e.labels
        assert e.observed_at.year == sandbox.clock.now().year
    per_pod_restarts = Counter((e.labels["pod"], e.values["restarts"]) for e in crashes)
    assert max(per_pod_restarts.values()) == 1  # no repeats for the same pod and restart count
    warnings = [e for e in events if e.kind == "K8sEvent" and e.reason == "BackOff"]
    assert warnings and all(e.labels["type"] == "Warning" and e.target == CART for e in warnings)
    assert not [e for e in events if e.target.name != "cart" and e.kind == "PodState"]


@FAST
def test_oom_kill_is_reported(source: tuple[KubernetesSource, list[Event]], sandbox: Any) -> None:
    src, events = source
    src.poll_once(timeout_seconds=1)
    sandbox.inject("oom", "shop", "checkout")
    step_until(lambda: src.poll_once(timeout_seconds=1), events, lambda evs: of(evs, "OOMKilled", "checkout"))
    kills = Counter((e.labels["pod"], e.values["restarts"]) for e in of(events, "OOMKilled"))
    assert max(kills.values()) == 1
    assert {e.target.name for e in of(events, "OOMKilled")} == {"checkout"}


@FAST
def test_rollout_and_replicas(source: tuple[KubernetesSource, list[Event]], sandbox: Any) -> None:
    src, events = source
    src.poll_once(timeout_seconds=1)
    sandbox.inject("bad-deploy", "shop", "frontend")
    step_until(lambda: src.poll_once(timeout_seconds=1), events, lambda evs: of(evs, "RolloutFinished"))
    started, finished = of(events, "RolloutStarted"), of(events, "RolloutFinished")
    assert [e.target.name for e in started] == ["frontend"] == [e.target.name for e in finished]
    assert started[0].values["revision"] == finished[0].values["revision"] == 2.0
    assert started[0].labels["tier"] == "frontend"
    assert events.index(started[0]) < events.index(finished[0])

    src.kube.scale("Deployment", "shop", "cart", 3)
    step_until(lambda: src.poll_once(timeout_seconds=1), events, lambda evs: of(evs, "ReplicasChanged"))
    (scaled,) = of(events, "ReplicasChanged")
    assert scaled.target == CART and scaled.values == {"from": 2.0, "to": 3.0}
    assert not of(events, "RolloutStarted", "cart")  # a scale is not a rollout


@FAST
def test_threads_run_and_stop(source: tuple[KubernetesSource, list[Event]], sandbox: Any) -> None:
    src, events = source
    src.watch_timeout_s = 30
    src.start()
    try:
        time.sleep(0.5)
        sandbox.inject("crashloop", "shop", "cart")
        deadline = time.monotonic() + 40
        while not of(events, "CrashLoopBackOff", "cart") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert of(events, "CrashLoopBackOff", "cart")
        assert src.running
    finally:
        started = time.monotonic()
        src.stop()
    assert not src.running and time.monotonic() - started < 5  # streams are aborted, not waited out


@FAST
def test_compacted_history_relists_and_catches_up(source: tuple[KubernetesSource, list[Event]],
                                                  sandbox: Any) -> None:
    src, events = source
    src.poll_once(timeout_seconds=1)
    src.kube.scale("Deployment", "shop", "cart", 3)  # a change the watch has not seen yet ...
    sandbox.store.compact()  # ... and the history that held it is gone (etcd compaction)
    step_until(lambda: src.poll_once(timeout_seconds=1), events, lambda evs: src.stats["lists"] > 5)
    assert src.stats["expired"] >= 1 and src.stats["relists"] >= 1
    step_until(lambda: src.poll_once(timeout_seconds=1), events, lambda evs: of(evs, "ReplicasChanged"))
    assert of(events, "ReplicasChanged")[0].values == {"from": 2.0, "to": 3.0}  # caught up by the re-list
