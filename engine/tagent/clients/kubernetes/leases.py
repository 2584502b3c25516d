"""coordination.k8s.io/v1 Lease objects for leader election: get, create, and update under optimistic
concurrency (the update carries the resourceVersion it read; a concurrent writer makes it fail with
`LeaseConflict`, never overwrite).

    leases = Leases(kube.api_client)
    lease = leases.get("tagent", "tagent-engine")              # None when absent
    lease = leases.create(LeaseSpec(...), "tagent", "tagent-engine")
    lease = leases.update(lease, LeaseSpec(...))                # LeaseConflict: someone wrote first
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tagent.clients.kubernetes.errors import api_errors
from tagent.errors import PermanentError, TransientError


class LeaseConflict(TransientError):
    """The Lease changed (or appeared) since it was read: read it again."""


@dataclass(frozen=True)
class LeaseSpec:
    holder: str  # "" when released
    duration_s: int
    acquired_at: datetime | None = None
    renewed_at: datetime | None = None
    transitions: int = 0


@dataclass(frozen=True)
class Lease:
    namespace: str
    name: str
    resource_version: str
    spec: LeaseSpec


def _micro(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if at is not None else None


def _parse(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _lease(body: dict[str, Any]) -> Lease:
    meta, spec = body.get("metadata") or {}, body.get("spec") or {}
    return Lease(namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")),
                 resource_version=str(meta.get("resourceVersion", "")),
                 spec=LeaseSpec(holder=str(spec.get("holderIdentity") or ""),
                                duration_s=int(spec.get("leaseDurationSeconds") or 0),
                                acquired_at=_parse(spec.get("acquireTime")), renewed_at=_parse(spec.get("renewTime")),
                                transitions=int(spec.get("leaseTransitions") or 0)))


def _body(namespace: str, name: str, spec: LeaseSpec, resource_version: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": spec.holder or None, "leaseDurationSeconds": spec.duration_s,
                     "acquireTime": _micro(spec.acquired_at), "renewTime": _micro(spec.renewed_at),
                     "leaseTransitions": spec.transitions}}


class Leases:
    def __init__(self, api_client: k8s.ApiClient, *, request_timeout: float = 5.0) -> None:
        self.api = k8s.CoordinationV1Api(api_client)
        self.request_timeout = request_timeout

    def _call(self, what: str, func: Any, *args: Any) -> dict[str, Any]:
        with api_errors(what):
            try:
                response = func(*args, _preload_content=False, _request_timeout=self.request_timeout)
            except ApiException as exc:
                if exc.status == 409:
                    raise LeaseConflict(f"{what}: the Lease changed since it was read") from exc
                raise
            body = json.loads(response.data)
        if not isinstance(body, dict):
            raise TransientError(f"{what}: response is not a JSON object")
        return body

    def get(self, namespace: str, name: str) -> Lease | None:
        """The Lease, or None when there is none (PermanentError for 403 and the like)."""
        try:
            return _lease(self._call(f"get lease {namespace}/{name}", self.api.read_namespaced_lease, name,
                                     namespace))
        except PermanentError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiException) and cause.status == 404:
                return None
            raise

    def create(self, namespace: str, name: str, spec: LeaseSpec) -> Lease:
        """Create the Lease; LeaseConflict when another replica created it first."""
        return _lease(self._call(f"create lease {namespace}/{name}", self.api.create_namespaced_lease, namespace,
                                 _body(namespace, name, spec)))

    def update(self, lease: Lease, spec: LeaseSpec) -> Lease:
        """Replace the Lease's spec if it is still at `lease.resource_version` (LeaseConflict otherwise)."""
        return _lease(self._call(f"update lease {lease.namespace}/{lease.name}", self.api.replace_namespaced_lease,
                                 lease.name, lease.namespace,
                                 _body(lease.namespace, lease.name, spec, lease.resource_version)))
