"""What the simulated kubelet remembers about a pod between ticks (containers, counters, logs)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from tagent.sandbox.scenario import WorkloadSpec

LOG_LINES = 2000  # kept per container instance
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Traffic:
    """HTTP counters of one pod since it started (Prometheus counters never go down while it lives)."""

    requests: dict[tuple[str, str], float] = field(default_factory=dict)  # (method, code) -> count
    buckets: list[float] = field(default_factory=lambda: [0.0] * (len(BUCKETS) + 1))  # per bucket, last: > max
    duration_sum: float = 0.0
    duration_count: float = 0.0
    carry: float = 0.0  # fraction of a request not yet served


@dataclass
class Container:
    name: str
    image: str
    limit_memory: float | None
    limit_cpu: float | None
    status: str = "creating"  # creating | running | terminated | backoff
    container_id: str = ""
    started_at: datetime | None = None
    restart_count: int = 0
    backoff: float = 10.0  # sandbox seconds before the next restart
    restart_at: datetime | None = None
    crash_at: datetime | None = None
    last_terminated: dict[str, object] | None = None
    current_terminated: dict[str, object] | None = None
    backoff_message: str = ""
    cpu: float = 0.0  # cores, current
    cpu_seconds: float = 0.0
    memory: float = 0.0  # bytes, working set
    logs: deque[tuple[datetime, str]] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    previous_logs: deque[tuple[datetime, str]] | None = None
    next_chatter: datetime | None = None  # next background log line of a non-HTTP workload


@dataclass
class PodState:
    namespace: str
    name: str
    uid: str
    profile: WorkloadSpec
    workload: str  # owning Deployment/StatefulSet name ("" for a bare pod)
    workload_kind: str
    revision: str  # pod-template-hash or controller-revision-hash
    code: str
    created: datetime
    containers: list[Container]
    rng: random.Random
    node: str = ""
    ip: str = ""
    scheduled_at: datetime | None = None
    qos: str = "Burstable"
    transitions: dict[str, tuple[str, str]] = field(default_factory=dict)  # condition -> (status, since)
    traffic: Traffic = field(default_factory=Traffic)

    def running(self) -> bool:
        return any(c.status == "running" for c in self.containers)

    def ready(self, now: datetime) -> bool:
        return all(c.status == "running" and c.started_at is not None
                   and (now - c.started_at).total_seconds() >= self.profile.startup for c in self.containers)
