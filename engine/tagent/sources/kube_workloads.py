"""Deployment/StatefulSet and Node watch events → Rollout, Replicas and Node events.

A rollout starts when the pod template changes (not on a scale, which also bumps the generation); it
finishes when `kubectl rollout status` would say so; it stalls when the controller reports
ProgressDeadlineExceeded or, if it does not, when it runs longer than the progress deadline (`tick()`).
Nothing is emitted for the first sight of an object, except a node that is already NotReady.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tagent.clients.kubernetes import DeploymentInfo, rollout_status_of
from tagent.clients.kubernetes.convert import deployment_info, meta, node_ready
from tagent.model.core import Event, WorkloadRef
from tagent.sources.kube_view import ClusterView


def _template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class _Workload:
    template: str
    replicas: int
    revision: int
    in_rollout: bool = False
    started_at: datetime | None = None
    stalled_reported: bool = False
    info: DeploymentInfo | None = None


class WorkloadTracker:
    """Deployments (rollouts, replicas) and StatefulSets (replicas); keeps workload labels in the view."""

    def __init__(self, view: ClusterView, kind: str = "Deployment") -> None:
        self.view = view
        self.kind = kind
        self._seen: dict[str, _Workload] = {}

    def observe(self, change: str, obj: dict[str, Any]) -> list[Event]:
        info = deployment_info(obj)  # the fields read are common to Deployment and StatefulSet
        ref = WorkloadRef(kind=self.kind, namespace=info.ref.namespace, name=info.ref.name)
        if change == "DELETED":
            self._seen.pop(ref.key, None)
            self.view.workload_labels.pop(ref.key, None)
            return []
        self.view.workload_labels[ref.key] = dict(info.labels)
        template = _template_hash(info.template)
        before = self._seen.get(ref.key)
        if before is None:
            # mid-rollout at first sight: new pods still to create or old ones to remove (mere unavailability
            # after a finished rollout is a pod problem, reported by the pod tracker, not a stalled rollout)
            pending = info.generation > info.observed_generation or info.updated_replicas < info.replicas or \
                info.status_replicas > info.updated_replicas
            self._seen[ref.key] = _Workload(template=template, replicas=info.replicas, revision=info.revision,
                                            in_rollout=self.kind == "Deployment" and pending,
                                            started_at=self.view.clock(), info=info)
            return []
        out = []
        if info.replicas != before.replicas:
            out.append(self._event(ref, "Replicas", "ReplicasChanged", {"from": before.replicas,
                                                                        "to": info.replicas},
                                   f"replicas {before.replicas} → {info.replicas}"))
            before.replicas = info.replicas
        if self.kind == "Deployment":
            out.extend(self._rollout(ref, info, template, before))
        before.template, before.info = template, info
        return out

    def _rollout(self, ref: WorkloadRef, info: DeploymentInfo, template: str, w: _Workload) -> list[Event]:
        out = []
        if template != w.template:
            w.revision = max(info.revision, w.revision + 1)
            w.in_rollout, w.started_at, w.stalled_reported = True, self.view.clock(), False
            out.append(self._event(ref, "Rollout", "RolloutStarted", {"revision": w.revision},
                                   f"rollout of revision {w.revision} started"))
        else:
            w.revision = max(w.revision, info.revision)
        status = rollout_status_of(info)
        if w.in_rollout and status.complete:
            w.in_rollout = False
            out.append(self._event(ref, "Rollout", "RolloutFinished", {"revision": w.revision}, status.message))
        elif w.in_rollout and status.stalled and not w.stalled_reported:
            w.stalled_reported = True
            out.append(self._event(ref, "Rollout", "RolloutStalled", {"revision": w.revision}, status.message))
        return out

    def resync(self, alive: set[str]) -> None:
        for key in set(self._seen) - alive:
            del self._seen[key]
            self.view.workload_labels.pop(key, None)

    def tick(self) -> list[Event]:
        """A rollout running past its progress deadline is stalled even if no controller condition says so."""
        now = self.view.clock()
        out = []
        for key, w in self._seen.items():
            if not (w.in_rollout and not w.stalled_reported and w.started_at and w.info):
                continue
            if (now - w.started_at).total_seconds() > w.info.progress_deadline_s:
                w.stalled_reported = True
                kind, namespace, name = key.split("/", 2)
                out.append(self._event(WorkloadRef(kind=kind, namespace=namespace, name=name), "Rollout",
                                       "RolloutStalled", {"revision": w.revision},
                                       f"rollout not complete after {w.info.progress_deadline_s}s"))
        return out

    def _event(self, ref: WorkloadRef, kind: str, reason: str, values: dict[str, int], message: str) -> Event:
        return self.view.event(kind, reason, ref, labels=self.view.labels(ref),
                               values={k: float(v) for k, v in values.items()}, message=message)


class NodeTracker:
    def __init__(self, view: ClusterView) -> None:
        self.view = view
        self._ready: dict[str, bool] = {}

    def observe(self, change: str, obj: dict[str, Any]) -> list[Event]:
        _, name = meta(obj)
        if change == "DELETED":
            self._ready.pop(name, None)
            return []
        ready = node_ready(obj)
        before = self._ready.get(name)
        self._ready[name] = ready
        if ready == before or (before is None and ready):
            return []
        reason = "NodeReady" if ready else "NodeNotReady"
        labels = {k: str(v) for k, v in ((obj.get("metadata") or {}).get("labels") or {}).items()}
        target = WorkloadRef(kind="Node", name=name)
        return [self.view.event("Node", reason, target, labels=dict(list(labels.items())[:64]),
                                message=f"node {name} is {'Ready' if ready else 'NotReady'}")]

    def resync(self, alive: set[str]) -> None:
        for name in set(self._ready) - alive:
            del self._ready[name]
