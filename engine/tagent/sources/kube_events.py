"""Kubernetes Event objects → K8sEvent events (reason, type, count), each occurrence once.

The API server aggregates repeats into one object with a growing `count`; an event is emitted when an
object is new or its count grew. On the first list only recent objects count (`recent_s`), so a restart
of Tagent does not replay the last hour of BackOffs.
"""

from __future__ import annotations

from typing import Any

from tagent.clients.kubernetes.convert import kube_event
from tagent.model.core import Event, WorkloadRef
from tagent.sources.kube_view import ClusterView
from tagent.sources.targets import owner_from_pod_name

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"})


class EventTracker:
    def __init__(self, view: ClusterView, recent_s: float = 120.0, max_tracked: int = 20_000) -> None:
        self.view = view
        self.recent_s = recent_s
        self.max_tracked = max_tracked
        self._counts: dict[str, int] = {}

    def observe(self, change: str, obj: dict[str, Any]) -> list[Event]:
        ev = kube_event(obj)
        if change == "DELETED":
            self._counts.pop(ev.uid, None)
            return []
        before = self._counts.get(ev.uid)
        self._counts[ev.uid] = ev.count
        if len(self._counts) > self.max_tracked:  # events expire server-side (1h); keep the newest half
            for uid in list(self._counts)[: self.max_tracked // 2]:
                del self._counts[uid]
        if before is not None and ev.count <= before:
            return []
        if before is None and ev.last_seen is not None and \
                (self.view.clock() - ev.last_seen).total_seconds() > self.recent_s:
            return []  # old news (first list after a start, or an old object touched)
        target, pod = self._target(ev.involved)
        labels = self.view.labels(target)
        labels["type"] = ev.type
        if pod:
            labels["pod"] = pod
        labels["involved_kind"] = ev.involved.kind
        return [self.view.event("K8sEvent", ev.reason, target, labels=labels, values={"count": float(ev.count)},
                                message=f"{ev.involved.kind}/{ev.involved.name}: {ev.message}")]

    def _target(self, involved: WorkloadRef) -> tuple[WorkloadRef, str]:
        kind, namespace, name = involved.kind, involved.namespace, involved.name
        if kind == "Pod":
            return self.view.owner_by_name(namespace, name), name
        if kind == "ReplicaSet":
            # the ReplicaSet of a Deployment is named <deployment>-<pod-template-hash>
            guess = owner_from_pod_name(namespace, f"{name}-xxxxx")
            return (guess if guess.kind == "Deployment" else involved), ""
        if kind == "Node":
            return WorkloadRef(kind="Node", name=name), ""
        return involved, ""
