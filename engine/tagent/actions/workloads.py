"""Reads the Kubernetes actions share: a workload's raw object, its pods, its ReplicaSet history, health.

Raw objects (camelCase dicts as served) rather than the client's models, as in tagent.clients.kubernetes:
the actions compare pod templates exactly the way kubectl does, which needs the object as served.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tagent.clients.kubernetes import KubeClient, PodInfo
from tagent.errors import PermanentError

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REVISION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH = "pod-template-hash"
KINDS = ("Deployment", "StatefulSet")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def check_kind(kind: str, verb: str, kinds: tuple[str, ...] = KINDS) -> str:
    if kind not in kinds:
        raise PermanentError(f"{verb}: unsupported workload kind {kind!r} ({' or '.join(kinds)})")
    return kind


def read_workload(kube: KubeClient, kind: str, namespace: str, name: str) -> dict[str, Any]:
    """The Deployment or StatefulSet as served; PermanentError when it does not exist."""
    check_kind(kind, "read")
    if kind == "Deployment":
        return kube.get_deployment_raw(namespace, name)
    return kube.call_json(f"get statefulset {namespace}/{name}", kube.apps.read_namespaced_stateful_set,
                          name, namespace)


def template_annotations(obj: dict[str, Any]) -> dict[str, str]:
    meta = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}


def spec_replicas(obj: dict[str, Any]) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def selector_of(obj: dict[str, Any]) -> dict[str, str]:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def pods_of(kube: KubeClient, obj: dict[str, Any]) -> list[PodInfo]:
    namespace = str((obj.get("metadata") or {}).get("namespace") or "")
    selector = selector_of(obj)
    if not selector:
        raise PermanentError(f"workload {namespace}/{(obj.get('metadata') or {}).get('name')} has no selector")
    return kube.list_pods(namespace, selector)


def parse_stamp(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def format_stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(STAMP)


@dataclass(frozen=True)
class Health:
    healthy: bool
    stalled: bool
    message: str


def statefulset_health(obj: dict[str, Any]) -> Health:
    """kubectl rollout status for a StatefulSet (RollingUpdate): the spec is observed, every replica runs
    the update revision and is ready."""
    name = (obj.get("metadata") or {}).get("name")
    status = obj.get("status") or {}
    want = spec_replicas(obj)
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return Health(False, False, "waiting for the statefulset spec update to be observed")
    ready = int(status.get("readyReplicas") or 0)
    if ready < want:
        return Health(False, False, f"{ready} of {want} pods are ready")
    updated = status.get("updatedReplicas")
    update_rev, current_rev = status.get("updateRevision"), status.get("currentRevision")
    if updated is not None and int(updated) < want:
        return Health(False, False, f"{updated} of {want} pods run the update revision")
    if update_rev and current_rev and update_rev != current_rev and updated is None:
        return Health(False, False, f"waiting for revision {update_rev}")
    return Health(True, False, f"statefulset {name!r}: {ready} of {want} pods ready and up to date")


def deployment_health(kube: KubeClient, namespace: str, name: str) -> Health:
    status = kube.rollout_status(namespace, name)
    healthy = status.complete and status.ready_replicas >= status.replicas
    message = status.message if healthy or not status.complete else \
        f"{status.ready_replicas} of {status.replicas} replicas ready"
    return Health(healthy, status.stalled, message)


def owned_replicasets(kube: KubeClient, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The ReplicaSets a Deployment controls (by owner uid), as kubectl lists them for `rollout undo`."""
    namespace = str((deployment.get("metadata") or {}).get("namespace") or "")
    uid = (deployment.get("metadata") or {}).get("uid")
    items, _ = kube.list_raw("replicasets", namespace, selector_of(deployment))
    return [rs for rs in items
            if any(ref.get("controller") and ref.get("uid") == uid
                   for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]


def revision(obj: dict[str, Any]) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION) or 0)
    except ValueError:
        return 0


def comparable_template(template: dict[str, Any], *, ignore_restart: bool) -> dict[str, Any]:
    """A pod template without the ReplicaSet's hash label (and, optionally, the restart stamp)."""
    out = copy.deepcopy(template or {})
    meta = out.setdefault("metadata", {})
    (meta.get("labels") or {}).pop(POD_TEMPLATE_HASH, None)
    if ignore_restart:
        annotations = meta.get("annotations") or {}
        annotations.pop(RESTARTED_AT, None)
        if not annotations:
            meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    if not meta:
        out.pop("metadata", None)
    return out


def rs_template(rs: dict[str, Any]) -> dict[str, Any]:
    return (rs.get("spec") or {}).get("template") or {}


def deployment_template(deployment: dict[str, Any]) -> dict[str, Any]:
    return (deployment.get("spec") or {}).get("template") or {}
