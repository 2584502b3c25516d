"""Runtimes from spans: a workload whose spans name their runtime (OpenTelemetry's `telemetry.sdk.language`,
`process.runtime.name`) is that runtime, whatever its image is called; an explicit `tagent.io/runtime`
label or annotation still wins. The inventory source applies this to every listing, so the inventory (and
the dashboard's runtime panels) follow the spans as soon as the first ones arrive."""

from __future__ import annotations

from typing import Any, Protocol

from tagent.clients.kubernetes.runtime import RUNTIME_LABEL, runtime_from_otel
from tagent.model.inventory import Runtime, WorkloadInfo


class ResourceReader(Protocol):
    """What this reads (tagent.traces.Traces)."""

    def services(self) -> list[dict[str, str]]: ...

    def resource(self, service: str) -> dict[str, Any] | None: ...


class OtelRuntimes:
    """`refine(workloads)`: the workloads with the runtime their spans report. One services() query per call,
    and one resource() query per service only when its spans were seen again since the last call."""

    def __init__(self, traces: ResourceReader) -> None:
        self.traces = traces
        self._known: dict[str, tuple[str, Runtime | None]] = {}  # service -> (last_seen, runtime)

    def __call__(self, workloads: list[WorkloadInfo]) -> list[WorkloadInfo]:
        seen = {str(row.get("service")): str(row.get("last_seen")) for row in self.traces.services()}
        out = []
        for w in workloads:
            service = f"{w.ref.namespace}/{w.ref.name}"
            runtime = self._runtime(service, seen[service]) if service in seen else None
            explicit = RUNTIME_LABEL in w.labels or RUNTIME_LABEL in w.annotations
            out.append(w if runtime is None or explicit or runtime == w.runtime
                       else w.model_copy(update={"runtime": runtime}))
        return out

    def _runtime(self, service: str, last_seen: str) -> Runtime | None:
        known = self._known.get(service)
        if known is not None and known[0] == last_seen:
            return known[1]
        found = self.traces.resource(service)
        runtime = runtime_from_otel((found or {}).get("attributes"))
        self._known[service] = (last_seen, runtime)
        return runtime
