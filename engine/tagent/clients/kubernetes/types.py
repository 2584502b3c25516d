"""Plain typed views of the Kubernetes objects Tagent reads (frozen dataclasses, no `kubernetes` import).

Callers above the clients layer never see the client's own models: these carry only what sources, actions
and chat use, so the rest of Tagent does not depend on the client's (changing) model classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tagent.model.core import WorkloadRef


@dataclass(frozen=True)
class ContainerState:
    """One container's status: `reason` is the waiting reason (CrashLoopBackOff, ImagePullBackOff, ...) or,
    when it is not waiting, the last termination reason (OOMKilled, Error, Completed)."""

    name: str
    ready: bool
    restarts: int
    state: str  # running | waiting | terminated | unknown
    reason: str = ""
    last_termination_reason: str = ""
    image: str = ""
    started_at: datetime | None = None  # when the current run started (running containers)


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    phase: str
    ready: bool
    node: str
    labels: dict[str, str]
    owner: WorkloadRef | None  # the controller reference as written (ReplicaSet, StatefulSet, ...)
    containers: list[ContainerState]
    cpu_request: float = 0.0  # cores, summed over containers
    cpu_limit: float = 0.0
    memory_request: float = 0.0  # bytes
    memory_limit: float = 0.0
    start_time: datetime | None = None
    deleting: bool = False
    resource_version: str = ""

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.containers)


@dataclass(frozen=True)
class KubeEvent:
    namespace: str
    name: str
    uid: str
    reason: str
    message: str
    type: str  # Normal | Warning
    count: int
    involved: WorkloadRef  # kind/namespace/name of the involved object
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class DeploymentInfo:
    ref: WorkloadRef
    uid: str
    generation: int
    observed_generation: int
    replicas: int  # spec
    status_replicas: int
    ready_replicas: int
    updated_replicas: int
    available_replicas: int
    unavailable_replicas: int
    revision: int
    labels: dict[str, str]
    annotations: dict[str, str]
    selector: dict[str, str]
    template: dict[str, Any] = field(repr=False, default_factory=dict)
    conditions: dict[str, tuple[str, str]] = field(default_factory=dict)  # type -> (status, reason)
    progress_deadline_s: int = 600
    paused: bool = False


@dataclass(frozen=True)
class RolloutStatus:
    """What `kubectl rollout status` reports: done when the controller saw the latest spec, every replica
    runs the new template and is available, and no old replica is left."""

    ref: WorkloadRef
    complete: bool
    stalled: bool
    replicas: int
    updated_replicas: int
    ready_replicas: int
    available_replicas: int
    revision: int
    message: str


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    cpu: float  # cores
    memory: float  # bytes
    timestamp: datetime | None = None


@dataclass(frozen=True)
class NodeUsage:
    name: str
    cpu: float
    memory: float
    timestamp: datetime | None = None


@dataclass(frozen=True)
class WatchEvent:
    """One change seen by a watch: `type` is ADDED | MODIFIED | DELETED, or SYNC for each object of a
    (re-)list, so a consumer can rebuild its state after a 410. `obj` is the raw API object (camelCase)."""

    type: str
    obj: dict[str, Any]
    resource: str


@dataclass(frozen=True)
class UndoResult:
    ref: WorkloadRef
    from_revision: int
    to_revision: int
    skipped: bool  # the current template already is the target revision's
    message: str
