"""The resource types the sandbox serves, as data: one table drives routing, discovery and the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

READ = ("get", "list", "watch")
ALL = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL
    subresources: tuple[str, ...] = ()  # served subresources, e.g. ("log", "eviction")
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}"

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("create", "delete", "get", "list", "watch",
                                                                         "patch", "update")),
    ResourceType("", "v1", "nodes", "Node", False, ("no",)),  # every verb, as kube-apiserver (kubelets create them)
    ResourceType("", "v1", "pods", "Pod", True, ("po",), subresources=("log", "eviction", "status"),
                 categories=("all",)),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "services", "Service", True, ("svc",), categories=("all",)),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), subresources=("scale", "status"),
                 categories=("all",)),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), subresources=("scale", "status"),
                 categories=("all",)),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), subresources=("scale", "status"),
                 categories=("all",)),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",)),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=READ[:2]),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=READ[:2]),
)

# Subresources: (parent plural) -> {name: (kind, verbs)}, for discovery documents.
SUBRESOURCE_KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "log": ("Pod", "", ("get",)),
    "eviction": ("Eviction", "policy", ("create",)),
    "status": ("", "", ("get", "patch", "update")),
    "scale": ("Scale", "autoscaling", ("get", "patch", "update")),
}

GROUP_VERSIONS: tuple[tuple[str, str], ...] = (
    ("apps", "v1"), ("autoscaling", "v1"), ("coordination.k8s.io", "v1"), ("policy", "v1"),
    ("metrics.k8s.io", "v1beta1"),
)

_BY_PATH = {(t.group, t.version, t.plural): t for t in TYPES}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(kind: str) -> ResourceType:
    """The stored (non-metrics) resource type for a kind name."""
    for t in TYPES:
        if t.kind == kind and t.group != "metrics.k8s.io":
            return t
    raise KeyError(kind)


PODS = by_kind("Pod")
NODES = by_kind("Node")
NAMESPACES = by_kind("Namespace")
EVENTS = by_kind("Event")
SERVICES = by_kind("Service")
DEPLOYMENTS = by_kind("Deployment")
REPLICASETS = by_kind("ReplicaSet")
STATEFULSETS = by_kind("StatefulSet")
LEASES = by_kind("Lease")
PDBS = by_kind("PodDisruptionBudget")


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """The APIResourceList for one group version, or None when not served."""
    gv = f"{group}/{version}" if group else version
    resources: list[dict[str, Any]] = []
    for t in TYPES:
        if (t.group, t.version) != (group, version):
            continue
        entry: dict[str, Any] = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
                                 "kind": t.kind, "verbs": list(t.verbs)}
        if t.short_names:
            entry["shortNames"] = list(t.short_names)
        if t.categories:
            entry["categories"] = list(t.categories)
        resources.append(entry)
        for sub in t.subresources:
            kind, sub_group, verbs = SUBRESOURCE_KINDS[sub]
            item: dict[str, Any] = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced,
                                    "kind": kind or t.kind, "verbs": list(verbs)}
            if sub_group:
                item["group"], item["version"] = sub_group, "v1"
            resources.append(item)
    if group == "autoscaling" and version == "v1":
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": []}
    if not resources:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def group_list() -> dict[str, Any]:
    groups = []
    for group, version in GROUP_VERSIONS:
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(name: str) -> dict[str, Any] | None:
    for g in group_list()["groups"]:
        if g["name"] == name:
            return {"kind": "APIGroup", "apiVersion": "v1", **g}
    return None


def core_versions() -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
