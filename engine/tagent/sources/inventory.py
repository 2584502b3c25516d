"""Auto-discovery: the inventory of workloads (Deployments, StatefulSets) with their inferred runtime.

Listed on start and every `interval`, and on demand (`refresh()`, wired to the Kubernetes source's
workload changes); `on_change` receives the whole inventory whenever it differs from the last one, so the
store and the API always hold the current picture without polling the cluster themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from tagent.clients.kubernetes import KubeClient
from tagent.errors import TagentError
from tagent.model.core import utcnow
from tagent.model.inventory import NodeInfo, WorkloadInfo
from tagent.sources.base import Clock, Source

OnChange = Callable[[list[WorkloadInfo], list[NodeInfo]], None]
Refine = Callable[[list[WorkloadInfo]], list[WorkloadInfo]]


class InventorySource(Source):
    name = "inventory"

    def __init__(self, kube: KubeClient, on_change: OnChange, *, namespace: str | None = None,
                 interval: float = 60.0, clock: Clock = utcnow) -> None:
        super().__init__(lambda _event: None, interval=interval, clock=clock)
        self.kube = kube
        self.on_change = on_change
        self.namespace = namespace
        self.refine: Refine | None = None  # e.g. the runtimes the workloads' spans report (tagent.traces.runtimes)
        self.workloads: list[WorkloadInfo] = []
        self.nodes: list[NodeInfo] = []
        self._fingerprint: str | None = None
        self._refresh = threading.Event()

    def poll_once(self) -> int:
        """List workloads and nodes; call `on_change` when anything differs. Returns 1 on a change, else 0."""
        workloads = sorted(self.kube.list_workloads(self.namespace), key=lambda w: w.ref.key)
        if self.refine is not None:
            try:
                workloads = self.refine(workloads)
            except (SQLAlchemyError, TagentError, OSError, ValueError, KeyError) as exc:  # an enrichment only
                self.count("refine_errors", f"{type(exc).__name__}: {exc}")
        nodes = sorted(self.kube.list_nodes(), key=lambda n: n.name)
        fingerprint = "\n".join([w.model_dump_json() for w in workloads] + [n.model_dump_json() for n in nodes])
        if fingerprint == self._fingerprint:
            return 0
        self._fingerprint = fingerprint
        self.workloads, self.nodes = workloads, nodes
        self.stats["changes"] += 1
        self.on_change(workloads, nodes)
        return 1

    def refresh(self) -> None:
        """Ask the running loop for a new listing now (cheap to call from a watch thread)."""
        self._refresh.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._refresh.clear()
            self._round()
            self._refresh.wait(self.interval)  # woken early by refresh() (and by stop())

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._refresh.set()
        super().stop(timeout)
