"""Raw API objects (camelCase dicts, as served) → the typed views in `types`.

Reads go through the raw JSON rather than the client's models on purpose: the models validate strictly and
one unexpected field from a server would turn into an exception far from its cause; a dict with defaults
degrades to "unknown" instead. Malformed objects raise `ValueError`, which the callers count.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from tagent.clients.kubernetes.runtime import infer_runtime
from tagent.clients.kubernetes.types import ContainerState, DeploymentInfo, KubeEvent, NodeUsage, PodInfo, PodUsage
from tagent.model.core import WorkloadRef
from tagent.model.inventory import NodeInfo, WorkloadInfo

REVISION = "deployment.kubernetes.io/revision"


def _d(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def quantity(value: Any) -> float:
    """A Kubernetes quantity (`100m`, `1.5`, `12345678n`, `128Mi`) as a float; 0 when absent or invalid."""
    if value is None or value == "":
        return 0.0
    try:
        parsed: Decimal = parse_quantity(value)
    except ValueError:
        return 0.0
    return float(parsed)


def meta(obj: dict[str, Any]) -> tuple[str, str]:
    """(namespace, name) of an object; ValueError when it has no name."""
    name = _d(obj, "metadata", "name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"object without metadata.name: kind={obj.get('kind')!r}")
    return str(_d(obj, "metadata", "namespace") or ""), name


def controller_of(obj: dict[str, Any]) -> WorkloadRef | None:
    """The controlling owner reference, as written on the object."""
    namespace = str(_d(obj, "metadata", "namespace") or "")
    for ref in _d(obj, "metadata", "ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller") and ref.get("name"):
            return WorkloadRef(kind=str(ref.get("kind", "")), namespace=namespace, name=str(ref["name"]))
    return None


def _container(status: dict[str, Any]) -> ContainerState:
    state = status.get("state") or {}
    last = _d(status, "lastState", "terminated", "reason") or ""
    if "waiting" in state:
        kind, reason = "waiting", _d(state, "waiting", "reason") or ""
    elif "terminated" in state:
        kind, reason = "terminated", _d(state, "terminated", "reason") or ""
    elif "running" in state:
        kind, reason = "running", ""
    else:
        kind, reason = "unknown", ""
    return ContainerState(name=str(status.get("name", "")), ready=bool(status.get("ready")),
                          restarts=int(status.get("restartCount") or 0), state=kind, reason=str(reason),
                          last_termination_reason=str(last), image=str(status.get("image", "")),
                          started_at=parse_time(_d(state, "running", "startedAt")))


def pod_info(obj: dict[str, Any]) -> PodInfo:
    namespace, name = meta(obj)
    status = obj.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or [] if isinstance(c, dict)}
    containers = [_container(c) for c in status.get("containerStatuses") or [] if isinstance(c, dict)]
    resources = [c.get("resources") or {} for c in _d(obj, "spec", "containers") or [] if isinstance(c, dict)]
    total = {(kind, res): sum(quantity(_d(r, kind, res)) for r in resources)
             for kind in ("requests", "limits") for res in ("cpu", "memory")}
    return PodInfo(
        namespace=namespace, name=name, phase=str(status.get("phase") or "Unknown"),
        ready=conditions.get("Ready") == "True", node=str(_d(obj, "spec", "nodeName") or ""),
        labels=_str_map(_d(obj, "metadata", "labels")), owner=controller_of(obj), containers=containers,
        cpu_request=total["requests", "cpu"], cpu_limit=total["limits", "cpu"],
        memory_request=total["requests", "memory"], memory_limit=total["limits", "memory"],
        start_time=parse_time(status.get("startTime")),
        deleting=bool(_d(obj, "metadata", "deletionTimestamp")),
        resource_version=str(_d(obj, "metadata", "resourceVersion") or ""),
    )


def revision_of(obj: dict[str, Any]) -> int:
    try:
        return int(_d(obj, "metadata", "annotations", REVISION) or 0)
    except ValueError:
        return 0


def deployment_info(obj: dict[str, Any]) -> DeploymentInfo:
    namespace, name = meta(obj)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conditions = {str(c.get("type")): (str(c.get("status", "")), str(c.get("reason", "")))
                  for c in status.get("conditions") or [] if isinstance(c, dict)}
    replicas = spec.get("replicas")
    return DeploymentInfo(
        ref=WorkloadRef(kind="Deployment", namespace=namespace, name=name),
        uid=str(_d(obj, "metadata", "uid") or ""),
        generation=int(_d(obj, "metadata", "generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        replicas=1 if replicas is None else int(replicas),
        status_replicas=int(status.get("replicas") or 0), ready_replicas=int(status.get("readyReplicas") or 0),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        available_replicas=int(status.get("availableReplicas") or 0),
        unavailable_replicas=int(status.get("unavailableReplicas") or 0),
        revision=revision_of(obj), labels=_str_map(_d(obj, "metadata", "labels")),
        annotations=_str_map(_d(obj, "metadata", "annotations")),
        selector=_str_map(_d(spec, "selector", "matchLabels")), template=spec.get("template") or {},
        conditions=conditions, progress_deadline_s=int(spec.get("progressDeadlineSeconds") or 600),
        paused=bool(spec.get("paused")),
    )


def workload_info(obj: dict[str, Any], kind: str) -> WorkloadInfo:
    namespace, name = meta(obj)
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    pod_spec = _d(spec, "template", "spec") or {}
    containers = [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]
    images = [str(c.get("image", "")) for c in containers if c.get("image")]
    ports = [int(p["containerPort"]) for c in containers for p in c.get("ports") or []
             if isinstance(p, dict) and isinstance(p.get("containerPort"), int)]
    labels = {**_str_map(_d(spec, "template", "metadata", "labels")), **_str_map(_d(obj, "metadata", "labels"))}
    annotations = _str_map(_d(obj, "metadata", "annotations"))
    replicas = spec.get("replicas")
    return WorkloadInfo(
        ref=WorkloadRef(kind=kind, namespace=namespace, name=name),
        replicas=1 if replicas is None else int(replicas), ready_replicas=int(status.get("readyReplicas") or 0),
        runtime=infer_runtime(images, labels, ports, annotations, containers=containers), images=images,
        labels=_str_map(_d(obj, "metadata", "labels")), annotations=annotations, ports=ports,
    )


def node_ready(obj: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in _d(obj, "status", "conditions") or [] if isinstance(c, dict))


def node_info(obj: dict[str, Any]) -> NodeInfo:
    _, name = meta(obj)
    capacity = _d(obj, "status", "capacity") or {}
    return NodeInfo(name=name, ready=node_ready(obj), cpu=str(capacity.get("cpu", "")),
                    memory=str(capacity.get("memory", "")))


def kube_event(obj: dict[str, Any]) -> KubeEvent:
    namespace, name = meta(obj)
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    return KubeEvent(
        namespace=namespace, name=name, uid=str(_d(obj, "metadata", "uid") or name),
        reason=str(obj.get("reason") or ""), message=str(obj.get("message") or obj.get("note") or ""),
        type=str(obj.get("type") or "Normal"), count=int(obj.get("count") or 1),
        involved=WorkloadRef(kind=str(involved.get("kind") or ""),
                             namespace=str(involved.get("namespace") or ""),
                             name=str(involved.get("name") or "")),
        first_seen=parse_time(obj.get("firstTimestamp") or obj.get("eventTime")),
        last_seen=parse_time(obj.get("lastTimestamp") or obj.get("eventTime") or obj.get("firstTimestamp")),
    )


def pod_usage(item: dict[str, Any]) -> PodUsage:
    """A metrics.k8s.io PodMetrics item, summed over its containers."""
    namespace, name = meta(item)
    usages = [c.get("usage") or {} for c in item.get("containers") or [] if isinstance(c, dict)]
    return PodUsage(namespace=namespace, name=name, cpu=sum(quantity(u.get("cpu")) for u in usages),
                    memory=sum(quantity(u.get("memory")) for u in usages), timestamp=parse_time(item.get("timestamp")))


def node_usage(item: dict[str, Any]) -> NodeUsage:
    _, name = meta(item)
    usage = item.get("usage") or {}
    return NodeUsage(name=name, cpu=quantity(usage.get("cpu")), memory=quantity(usage.get("memory")),
                     timestamp=parse_time(item.get("timestamp")))
