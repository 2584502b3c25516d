"""Read RBAC manifests (Roles, ClusterRoles and their bindings, e.g. a rendered Helm chart) into the rules
they bind to one subject, in the shape `Sandbox.add_token` takes: what the API server would enforce for
that subject once the manifests are applied."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"


def service_account_user(namespace: str, name: str) -> str:
    """The user name a ServiceAccount token authenticates as."""
    return f"system:serviceaccount:{namespace}:{name}"


@dataclass
class Bound:
    """ClusterRole rules bound cluster-wide, and Role/ClusterRole rules bound in one namespace each."""

    user: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    roles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _names_subject(binding: Mapping[str, Any], user: str, namespace: str, name: str) -> bool:
    for subject in binding.get("subjects") or []:
        kind = subject.get("kind")
        if kind == "ServiceAccount" and subject.get("name") == name and subject.get("namespace", "") == namespace:
            return True
        if kind == "User" and subject.get("name") == user:
            return True
    return False


def bound_to_service_account(objects: Iterable[Mapping[str, Any]], namespace: str, name: str) -> Bound:
    """The rules `objects` bind to ServiceAccount `namespace/name`; ValueError when a binding it appears in
    refers to a role the manifests do not define (the API server would grant nothing for it)."""
    objects = list(objects)
    user = service_account_user(namespace, name)
    roles = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects
             if o.get("kind") in ("Role", "ClusterRole")}
    bound = Bound(user)
    for binding in objects:
        kind = binding.get("kind")
        if kind not in ("ClusterRoleBinding", "RoleBinding") or not _names_subject(binding, user, namespace, name):
            continue
        ref = binding["roleRef"]
        where = binding["metadata"].get("namespace", "") if kind == "RoleBinding" else ""
        role = roles.get((ref["kind"], where if ref["kind"] == "Role" else "", ref["name"]))
        if role is None:
            raise ValueError(f"{kind} {binding['metadata']['name']} refers to {ref['kind']} {ref['name']}, "
                             "which the manifests do not define")
        rules = list(role.get("rules") or [])
        if kind == "ClusterRoleBinding":
            bound.rules.extend(rules)
        else:
            bound.roles.setdefault(where, []).extend(rules)
    return bound
