"""What the Kubernetes trackers share: which workload owns a pod, a workload's labels, and the clock.

Labels on an event are the owning workload's labels (what `match.selector` is written against) plus the
pod's, without the controller-generated hash labels that would make every event look different.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tagent.clients.kubernetes import PodInfo
from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.sources.targets import owner_from_pod_name

GENERATED_LABELS = frozenset({"pod-template-hash", "controller-revision-hash",
                              "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index"})
MAX_LABELS = 64  # durable_rules caps an event at 255 properties


def clean_labels(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k not in GENERATED_LABELS}


@dataclass
class ClusterView:
    owner_of: Callable[[PodInfo], WorkloadRef]
    clock: Callable[[], datetime] = utcnow
    workload_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # WorkloadRef.key -> labels
    pod_owners: dict[tuple[str, str], WorkloadRef] = field(default_factory=dict)  # (ns, pod) -> owner

    def owner(self, pod: PodInfo) -> WorkloadRef:
        key = (pod.namespace, pod.name)
        found = self.pod_owners.get(key)
        if found is None:
            found = self.owner_of(pod)
            self.pod_owners[key] = found
        return found

    def owner_by_name(self, namespace: str, pod: str) -> WorkloadRef:
        """Owner of a pod we may no longer see (an Event about a deleted pod): what we knew, else its name."""
        return self.pod_owners.get((namespace, pod)) or owner_from_pod_name(namespace, pod)

    def labels(self, target: WorkloadRef, extra: dict[str, str] | None = None) -> dict[str, str]:
        merged = {**clean_labels(extra or {}), **self.workload_labels.get(target.key, {})}
        return dict(list(merged.items())[:MAX_LABELS])

    def event(self, kind: str, reason: str, target: WorkloadRef, *, labels: dict[str, str],
              values: dict[str, float] | None = None, message: str = "") -> Event:
        return Event(source=EventSource.kubernetes, kind=kind, reason=reason, target=target, labels=labels,
                     values=values or {}, message=message[:1000], observed_at=self.clock())
