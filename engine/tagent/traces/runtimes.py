"""Runtimes from spans: a workload whose spans name their runtime (OpenTelemetry's `telemetry.sdk.language`,
`process.runtime.name`) is that runtime, whatever its image is called; an explicit `tagent.io/runtime`
label or annotation still wins. The inventory source applies this to every listing, so the inventory (and
the dashboard's runtime panels) follow the spans as soon as the first ones arrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from tagent.clients.kubernetes.runtime import RUNTIME_LABEL, runtime_from_otel
from tagent.model.inventory import Runtime, WorkloadInfo


class ResourceReader(Protocol):
    """What this reads (tagent.traces.Traces)."""

    def services(self) -> list[dict[str, str]]: ...

    def resource(self, service: str) -> dict[str, Any] | None: ...


REREAD_S = 600.0  # a service's resource is read again after this long (a runtime seldom changes)


class OtelRuntimes:
    """`refine(workloads)`: the workloads with the runtime their spans report. One services() query per call,
    and one resource() query per service when it is new, then at most every REREAD_S: thousands of services
    must not cost thousands of queries per inventory round."""

    def __init__(self, traces: ResourceReader, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.traces, self.monotonic = traces, monotonic
        self._known: dict[str, tuple[float, Runtime | None]] = {}  # service -> (read at, runtime)

    def __call__(self, workloads: list[WorkloadInfo]) -> list[WorkloadInfo]:
        seen = {str(row.get("service")) for row in self.traces.services()}
        out = []
        for w in workloads:
            service = f"{w.ref.namespace}/{w.ref.name}"
            runtime = self._runtime(service) if service in seen else None
            explicit = RUNTIME_LABEL in w.labels or RUNTIME_LABEL in w.annotations
            out.append(w if runtime is None or explicit or runtime == w.runtime
                       else w.model_copy(update={"runtime": runtime}))
        return out

    def _runtime(self, service: str) -> Runtime | None:
        now, known = self.monotonic(), self._known.get(service)
        if known is not None and now - known[0] < REREAD_S:
            return known[1]
        found = self.traces.resource(service)
        runtime = runtime_from_otel((found or {}).get("attributes"))
        self._known[service] = (now, runtime)
        return runtime
