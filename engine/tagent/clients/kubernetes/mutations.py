"""The cluster mutations remediation and chat need, each done the way kubectl does it so the audit trail's
kubectl equivalent is faithful. Mixed into KubeClient (uses its `apps`, `core`, `call_json`, `list_raw`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kubernetes import client as k8s

from tagent.clients.kubernetes import convert
from tagent.clients.kubernetes.rollout import rollout_status_of
from tagent.clients.kubernetes.types import RolloutStatus, UndoResult
from tagent.errors import PermanentError
from tagent.model.core import WorkloadRef

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POD_TEMPLATE_HASH = "pod-template-hash"
# kubectl's rollback keeps these from the Deployment and never copies them from the ReplicaSet
UNDO_SKIP_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", convert.REVISION,
    "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to",
})
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


class Mutations:
    apps: k8s.AppsV1Api
    core: k8s.CoreV1Api
    if TYPE_CHECKING:
        call_json: Callable[..., dict[str, Any]]
        list_raw: Callable[..., tuple[list[dict[str, Any]], str]]
        get_deployment_raw: Callable[[str, str], dict[str, Any]]

    def _workload_api(self, kind: str, verb: str) -> Callable[..., Any]:
        table: dict[tuple[str, str], Callable[..., Any]] = {
            ("Deployment", "scale"): self.apps.patch_namespaced_deployment_scale,
            ("StatefulSet", "scale"): self.apps.patch_namespaced_stateful_set_scale,
            ("Deployment", "read"): self.apps.read_namespaced_deployment,
            ("StatefulSet", "read"): self.apps.read_namespaced_stateful_set,
            ("Deployment", "patch"): self.apps.patch_namespaced_deployment,
            ("StatefulSet", "patch"): self.apps.patch_namespaced_stateful_set,
        }
        try:
            return table[kind, verb]
        except KeyError:
            raise PermanentError(f"{verb}: unsupported workload kind {kind!r} (Deployment or StatefulSet)") from None

    def scale(self, kind: str, namespace: str, name: str, replicas: int) -> int:
        """Set a workload's replicas through its scale subresource (kubectl scale); returns the previous count.

        The previous count is read from the workload itself, not from the scale subresource: least-privilege
        RBAC (the Helm chart) grants get on deployments/statefulsets and only patch on their /scale."""
        if not 0 <= replicas <= 1000:
            raise PermanentError(f"scale {namespace}/{name}: replicas must be 0..1000, not {replicas}")
        what = f"scale {kind.lower()} {namespace}/{name}"
        current = self.call_json(what, self._workload_api(kind, "read"), name, namespace)
        previous = int((current.get("spec") or {}).get("replicas") or 0)
        self.call_json(what, self._workload_api(kind, "scale"), name, namespace,
                       {"spec": {"replicas": replicas}}, _content_type=MERGE)
        return previous

    def rollout_restart(self, namespace: str, name: str, *, kind: str = "Deployment",
                        at: datetime | None = None) -> str:
        """kubectl rollout restart: stamp the pod template so the controller rolls every pod; returns the stamp."""
        stamp = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        self.call_json(f"rollout restart {kind.lower()} {namespace}/{name}", self._workload_api(kind, "patch"),
                       name, namespace, body, _content_type=STRATEGIC)
        return stamp

    def _owned_replicasets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        namespace, _ = convert.meta(deployment)
        uid = (deployment.get("metadata") or {}).get("uid")
        selector = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        items, _ = self.list_raw("replicasets", namespace, selector)
        return [rs for rs in items
                if any(ref.get("controller") and ref.get("uid") == uid
                       for ref in (rs.get("metadata") or {}).get("ownerReferences") or [])]

    def rollout_undo(self, namespace: str, name: str, to_revision: int | None = None) -> UndoResult:
        """kubectl rollout undo: put back the pod template of `to_revision` (default: the previous revision).

        Lists the ReplicaSets the Deployment controls, takes the target revision's template (without its
        pod-template-hash label) and JSON-patches /spec/template and /metadata/annotations, as kubectl does.
        """
        ref = WorkloadRef(kind="Deployment", namespace=namespace, name=name)
        deployment = self.get_deployment_raw(namespace, name)
        if (deployment.get("spec") or {}).get("paused"):
            raise PermanentError(f"rollout undo {namespace}/{name}: the deployment is paused; resume it first")
        by_revision = {convert.revision_of(rs): rs for rs in self._owned_replicasets(deployment)}
        by_revision.pop(0, None)
        current = convert.revision_of(deployment) or max(by_revision, default=0)
        if to_revision is None:
            older = sorted(r for r in by_revision if r != current)
            if not older:
                raise PermanentError(f"rollout undo {namespace}/{name}: no rollout history found")
            to_revision = older[-1]
        if to_revision not in by_revision:
            raise PermanentError(f"rollout undo {namespace}/{name}: unable to find revision {to_revision}")
        template = copy.deepcopy((by_revision[to_revision].get("spec") or {}).get("template") or {})
        (template.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH, None)
        if template == (deployment.get("spec") or {}).get("template"):
            return UndoResult(ref=ref, from_revision=current, to_revision=to_revision, skipped=True,
                              message=f"skipped rollback (current template already matches revision {to_revision})")
        old_annotations = (deployment.get("metadata") or {}).get("annotations") or {}
        rs_annotations = (by_revision[to_revision].get("metadata") or {}).get("annotations") or {}
        annotations = {k: v for k, v in old_annotations.items() if k in UNDO_SKIP_ANNOTATIONS}
        annotations.update({k: v for k, v in rs_annotations.items() if k not in UNDO_SKIP_ANNOTATIONS})
        patch = [{"op": "replace", "path": "/spec/template", "value": template},
                 {"op": "replace", "path": "/metadata/annotations", "value": annotations}]
        self.call_json(f"rollout undo {namespace}/{name}", self.apps.patch_namespaced_deployment, name, namespace,
                       patch, _content_type=JSON_PATCH)
        return UndoResult(ref=ref, from_revision=current, to_revision=to_revision, skipped=False,
                          message=f"rolled back to revision {to_revision}")

    def rollout_status(self, namespace: str, name: str) -> RolloutStatus:
        """kubectl rollout status, one look: complete? stalled? how many replicas are updated and ready."""
        return rollout_status_of(convert.deployment_info(self.get_deployment_raw(namespace, name)))

    def delete_pod(self, namespace: str, name: str, grace_period_seconds: int | None = None) -> None:
        kwargs = {} if grace_period_seconds is None else {"grace_period_seconds": grace_period_seconds}
        self.call_json(f"delete pod {namespace}/{name}", self.core.delete_namespaced_pod, name, namespace, **kwargs)

    def evict_pod(self, namespace: str, name: str) -> None:
        """Evict through the Eviction API, which honours PodDisruptionBudgets (a refusal, HTTP 429, is a
        TransientError: try again later)."""
        body = k8s.V1Eviction(api_version="policy/v1", kind="Eviction",
                              metadata=k8s.V1ObjectMeta(name=name, namespace=namespace))
        self.call_json(f"evict pod {namespace}/{name}", self.core.create_namespaced_pod_eviction, name, namespace,
                       body)

    def delete_deployment(self, namespace: str, name: str, propagation_policy: str = "Background") -> None:
        self.call_json(f"delete deployment {namespace}/{name}", self.apps.delete_namespaced_deployment, name,
                       namespace, propagation_policy=propagation_policy)
