"""One workload on one page: its pods, Kubernetes events, recent logs and metric series.

Each part is fetched on its own; a part that fails (logs of a pod still starting, metrics.k8s.io missing)
is reported in `problems` and the rest is still answered, so the dashboard always has something to show.
"""

from __future__ import annotations

from typing import Any

from tagent.api.views.series import workload_series
from tagent.app.engine import Engine
from tagent.clients.kubernetes import KubeEvent, PodInfo
from tagent.errors import ExternalError
from tagent.model import WorkloadInfo, WorkloadRef

MAX_EVENTS = 50
MAX_LOG_PODS = 3


def _pod_reason(pod: PodInfo) -> str:
    for c in pod.containers:
        if c.reason:
            return c.reason
    return "Terminating" if pod.deleting else ""


def workload_pods(engine: Engine, ref: WorkloadRef) -> list[PodInfo]:
    """Pods whose controller chain ends at `ref` (Pod -> ReplicaSet -> Deployment, or the StatefulSet)."""
    return [p for p in engine.kube.list_pods(ref.namespace) if engine.kube.owner_of(p) == ref]


def _related(event: KubeEvent, ref: WorkloadRef, pods: set[str]) -> bool:
    involved = event.involved
    if involved.kind == ref.kind and involved.name == ref.name:
        return True
    if involved.kind == "Pod":
        return involved.name in pods
    return involved.kind == "ReplicaSet" and involved.name.startswith(ref.name + "-")


def _seen(event: KubeEvent) -> float:
    at = event.last_seen or event.first_seen
    return at.timestamp() if at is not None else 0.0


def _events(engine: Engine, ref: WorkloadRef, pods: set[str]) -> list[dict[str, Any]]:
    found = [e for e in engine.kube.list_events(ref.namespace) if _related(e, ref, pods)]
    found.sort(key=_seen, reverse=True)
    return [{"at": e.last_seen or e.first_seen, "type": e.type, "reason": e.reason, "message": e.message,
             "count": e.count, "object": f"{e.involved.kind}/{e.involved.name}"} for e in found[:MAX_EVENTS]]


def _logs(engine: Engine, pods: list[PodInfo], lines: int, problems: list[str]) -> list[str]:
    out: list[str] = []
    for pod in pods[:MAX_LOG_PODS]:
        try:
            text = engine.kube.pod_logs(pod.namespace, pod.name, tail_lines=lines)
        except ExternalError as exc:
            problems.append(f"logs of {pod.name}: {exc}")
            continue
        out.extend(f"[{pod.name}] {line}" for line in text.splitlines()[-lines:])
    return out


def _usage(engine: Engine, ref: WorkloadRef, pods: set[str], problems: list[str]) -> dict[str, float] | None:
    try:
        usage = [u for u in engine.kube.pod_metrics(ref.namespace) if u.name in pods]
    except ExternalError as exc:
        problems.append(f"pod metrics: {exc}")
        return None
    return {"cpu_cores": round(sum(u.cpu for u in usage), 4), "memory_bytes": sum(u.memory for u in usage)}


def workload_detail(engine: Engine, workload: WorkloadInfo, *, log_lines: int = 50,
                    minutes: int = 30) -> dict[str, Any]:
    ref = workload.ref
    problems: list[str] = []
    pods = workload_pods(engine, ref)
    names = {p.name for p in pods}
    events: list[dict[str, Any]] = []
    try:
        events = _events(engine, ref, names)
    except ExternalError as exc:
        problems.append(f"events: {exc}")
    metrics = workload_series(engine, ref, names, minutes=minutes, problems=problems)
    metrics["now"] = _usage(engine, ref, names, problems)
    return {
        "workload": workload.model_dump(mode="json"),
        "healthy": workload.healthy,
        "pods": [{"name": p.name, "phase": p.phase, "ready": p.ready, "restarts": p.restarts,
                  "reason": _pod_reason(p), "node": p.node, "started_at": p.start_time} for p in pods],
        "events": events,
        "logs": _logs(engine, pods, log_lines, problems),
        "metrics": metrics,
        "problems": problems,
    }
