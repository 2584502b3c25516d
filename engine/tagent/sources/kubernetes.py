"""The Kubernetes source: watches of deployments, statefulsets, nodes, pods and events, routed through the
trackers into Events.

`poll_once()` steps every watch once (concurrently; routed in a fixed order) for deterministic tests;
`start()` runs one thread per watch (resume from resourceVersion, re-list on 410, reconnect with backoff)
plus a ticker for the time-based checks. Trackers share state, so routing holds one lock. A malformed
object is counted (`malformed_objects`) and skipped; the watcher counts malformed lines itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from tagent.clients.kubernetes import KubeClient, Watcher, WatchEvent
from tagent.model.core import Event, utcnow
from tagent.sources.base import Clock, Emit, Source
from tagent.sources.kube_events import EventTracker
from tagent.sources.kube_pods import PodTracker
from tagent.sources.kube_view import ClusterView
from tagent.sources.kube_workloads import NodeTracker, WorkloadTracker

RESOURCES = ("deployments", "statefulsets", "nodes", "pods", "events")  # routing order: labels before pods


class _Tracker(Protocol):
    def observe(self, change: str, obj: dict[str, Any]) -> list[Event]: ...


def _key(resource: str, obj: dict[str, Any]) -> Any:
    md = obj.get("metadata") or {}
    if resource == "nodes":
        return md.get("name")
    if resource in ("pods",):
        return (md.get("namespace", ""), md.get("name"))
    kind = "Deployment" if resource == "deployments" else "StatefulSet"
    return f"{kind}/{md.get('namespace', '')}/{md.get('name')}"


class KubernetesSource(Source):
    name = "kubernetes"

    def __init__(self, kube: KubeClient, emit: Emit, *, clock: Clock = utcnow, namespace: str | None = None,
                 resources: tuple[str, ...] = RESOURCES, not_ready_grace_s: float = 60.0,
                 recent_events_s: float = 120.0, watch_timeout_s: int = 60, tick_interval: float = 1.0,
                 on_workloads_changed: Callable[[], None] | None = None) -> None:
        super().__init__(emit, interval=tick_interval, clock=clock)
        self.kube = kube
        self.view = ClusterView(owner_of=kube.owner_of, clock=clock)
        self.pods = PodTracker(self.view, not_ready_grace_s=not_ready_grace_s)
        self.deployments = WorkloadTracker(self.view, "Deployment")
        self.statefulsets = WorkloadTracker(self.view, "StatefulSet")
        self.nodes = NodeTracker(self.view)
        self.events = EventTracker(self.view, recent_s=recent_events_s)
        self.trackers: dict[str, _Tracker] = {"deployments": self.deployments, "statefulsets": self.statefulsets,
                                              "nodes": self.nodes, "pods": self.pods, "events": self.events}
        self.watch_timeout_s = watch_timeout_s
        self.on_workloads_changed = on_workloads_changed
        self.watchers: dict[str, Watcher] = {}
        for resource in resources:
            watcher = kube.watcher(resource, None if resource == "nodes" else namespace)
            watcher.stats = self.stats  # one counter for the source: malformed lines, relists, reconnects
            self.watchers[resource] = watcher
        self._lock = threading.Lock()
        self._synced: dict[str, set[Any]] = {}
        self._threads: list[threading.Thread] = []

    def route(self, event: WatchEvent) -> int:
        """Feed one watch event to its tracker and emit what it yields; returns how many were emitted."""
        with self._lock:
            if event.type == "SYNCED":
                self._resync(event.resource)
                return 0
            try:
                out = self.trackers[event.resource].observe("ADDED" if event.type == "SYNC" else event.type,
                                                            event.obj)
            except (ValueError, TypeError, KeyError) as exc:
                self.count("malformed_objects", f"{event.resource}: {exc}")
                return 0
            if event.type == "SYNC":
                self._synced.setdefault(event.resource, set()).add(_key(event.resource, event.obj))
            for e in out:
                self._send(e)
        if self.on_workloads_changed is not None and event.resource in ("deployments", "statefulsets") and \
                event.type in ("ADDED", "DELETED", "SYNCED"):
            self.on_workloads_changed()
        return len(out)

    def _resync(self, resource: str) -> None:
        alive = self._synced.pop(resource, set())
        tracker = self.trackers.get(resource)
        if isinstance(tracker, PodTracker | WorkloadTracker | NodeTracker):
            tracker.resync(alive)

    def tick(self) -> int:
        with self._lock:
            out = self.pods.tick() + self.deployments.tick()
            for e in out:
                self._send(e)
        return len(out)

    def poll_once(self, timeout_seconds: int = 1) -> int:
        """Step every watch once (a list the first time, else one stream of up to `timeout_seconds`)."""
        with ThreadPoolExecutor(max_workers=len(self.watchers) or 1) as pool:
            batches = {r: pool.submit(w.step, timeout_seconds) for r, w in self.watchers.items()}
            results = {r: f.result() for r, f in batches.items()}
        emitted = sum(self.route(e) for r in RESOURCES if r in results for e in results[r])
        return emitted + self.tick()

    # -- threads ----------------------------------------------------------------------------------
    def _watch(self, watcher: Watcher) -> None:
        for event in watcher.run(self._stop, timeout_seconds=self.watch_timeout_s):
            self.route(event)

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for watcher in self.watchers.values():
            watcher.reopen()
        self._threads = [threading.Thread(target=self._watch, args=(w,), name=f"tagent-watch-{r}", daemon=True)
                         for r, w in self.watchers.items()]
        self._threads.append(threading.Thread(target=self._tick_loop, name="tagent-watch-tick", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for watcher in self.watchers.values():
            watcher.close()
        for t in self._threads:
            t.join(timeout)
        self._threads = []

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)
