"""Pod watch events → PodState events, deduplicated so one crash loop does not flood detection.

An event is emitted when a container enters a bad state (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
...), when its restart count grows while in one, when it was OOM-killed (seen as the termination reason of
the current or the last run), and once per episode when a running pod is not ready although its
containers have been running for `not_ready_grace_s` (a transition, or found by `tick()`): a container
that just (re)started is not expected to be ready yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tagent.clients.kubernetes import ContainerState, PodInfo
from tagent.clients.kubernetes.convert import pod_info
from tagent.model.core import Event
from tagent.sources.kube_view import ClusterView

BAD_WAITING = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                         "CreateContainerError", "InvalidImageName", "RunContainerError"})
OOM = "OOMKilled"
NOT_READY = "PodNotReady"


@dataclass
class _Seen:
    containers: dict[str, ContainerState] = field(default_factory=dict)
    ready: bool = False
    not_ready_reported: bool = False
    pod: PodInfo | None = None
    oom_reported: dict[str, int] = field(default_factory=dict)  # container -> restart count of the last kill


class PodTracker:
    def __init__(self, view: ClusterView, not_ready_grace_s: float = 60.0) -> None:
        self.view = view
        self.not_ready_grace_s = not_ready_grace_s
        self._pods: dict[tuple[str, str], _Seen] = {}

    def observe(self, change: str, obj: dict[str, Any]) -> list[Event]:
        """One watch event (ADDED/MODIFIED/DELETED/SYNC); raises ValueError on a malformed pod."""
        pod = pod_info(obj)
        key = (pod.namespace, pod.name)
        if change == "DELETED":
            self._pods.pop(key, None)
            self.view.pod_owners.pop(key, None)
            return []
        seen = self._pods.setdefault(key, _Seen())
        events = [e for c in pod.containers for e in self._container(pod, c, seen.containers.get(c.name), seen)]
        seen.containers = {c.name: c for c in pod.containers}
        seen.pod = pod
        events.extend(self._readiness(pod, seen, has_bad_state=bool(events) or self._in_bad_state(pod)))
        return events

    def resync(self, alive: set[tuple[str, str]]) -> None:
        """After a re-list: forget pods the list no longer has (their DELETED was missed)."""
        for key in set(self._pods) - alive:
            del self._pods[key]

    def tick(self) -> list[Event]:
        """Time-based checks: pods that never became ready within the grace period."""
        now = self.view.clock()
        out = []
        for seen in self._pods.values():
            pod = seen.pod
            if pod is not None and self._overdue(pod, seen, now) and not self._in_bad_state(pod):
                out.append(self._not_ready(pod, seen, f"not ready {self.not_ready_grace_s:.0f}s after its"
                                                      " containers started"))
        return out

    @staticmethod
    def _in_bad_state(pod: PodInfo) -> bool:
        return any(c.reason in BAD_WAITING for c in pod.containers)

    def _overdue(self, pod: PodInfo, seen: _Seen, now: datetime) -> bool:
        """Not ready although every container has been running for the grace period (a container that just
        (re)started is expected not to be ready yet; one waiting in a bad state is reported as that)."""
        if pod.ready or seen.not_ready_reported or pod.phase != "Running" or pod.deleting or not pod.containers:
            return False
        for c in pod.containers:
            started = c.started_at or pod.start_time
            if c.state != "running" or started is None or (now - started).total_seconds() < self.not_ready_grace_s:
                return False
        return True

    def _readiness(self, pod: PodInfo, seen: _Seen, has_bad_state: bool) -> list[Event]:
        out = []
        if pod.ready:
            seen.not_ready_reported = False
        elif not has_bad_state and self._overdue(pod, seen, self.view.clock()):
            out.append(self._not_ready(pod, seen, "became not ready" if seen.ready else "is not ready"))
        seen.ready = pod.ready
        return out

    def _not_ready(self, pod: PodInfo, seen: _Seen, why: str) -> Event:
        seen.not_ready_reported = True
        return self._event(pod, NOT_READY, f"pod {pod.name} {why}", container="")

    def _container(self, pod: PodInfo, now: ContainerState, before: ContainerState | None,
                   seen: _Seen) -> list[Event]:
        restarted = before is not None and now.restarts > before.restarts
        out = []
        if now.reason in BAD_WAITING and (before is None or before.reason != now.reason or restarted):
            out.append(self._event(pod, now.reason, f"container {now.name} of pod {pod.name}: {now.reason}"
                                   f" (restarts {now.restarts})", container=now.name))
        # one OOM kill is seen first as the current termination (restarts N), then as the last one (N + 1)
        if now.state == "terminated" and now.reason == OOM:
            kill = now.restarts
        elif now.last_termination_reason == OOM and (before is not None or now.reason in BAD_WAITING):
            kill = now.restarts - 1  # on first sight only while still crashing: not a kill from long ago
        else:
            kill = -1
        if kill > seen.oom_reported.get(now.name, -1):
            seen.oom_reported[now.name] = kill
            out.append(self._event(pod, OOM, f"container {now.name} of pod {pod.name} was OOM-killed"
                                   f" (restarts {now.restarts})", container=now.name))
        return out

    def _event(self, pod: PodInfo, reason: str, message: str, container: str) -> Event:
        target = self.view.owner(pod)
        labels = self.view.labels(target, pod.labels)
        labels["pod"] = pod.name
        if container:
            labels["container"] = container
        if pod.node:
            labels["node"] = pod.node
        return self.view.event("PodState", reason, target, labels=labels, values={"restarts": float(pod.restarts)},
                               message=message)
