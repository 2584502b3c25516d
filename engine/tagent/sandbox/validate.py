"""Admission checks the API server makes before storing an object (422 Invalid with field paths)."""

from __future__ import annotations

import re
from typing import Any

from tagent.sandbox import apierrors
from tagent.sandbox.kinds import ResourceType
from tagent.sandbox.quantities import parse_quantity
from tagent.sandbox.selectors import matches_selector

Obj = dict[str, Any]
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _replicas(spec: Obj, problems: list[str]) -> None:
    value = spec.get("replicas", 1)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append("spec.replicas: Invalid value: must be an integer")
    elif value < 0:
        problems.append(f"spec.replicas: Invalid value: {value}: must be greater than or equal to 0")


def _pod_spec(spec: Any, path: str, problems: list[str]) -> None:
    if not isinstance(spec, dict):
        problems.append(f"{path}: Required value")
        return
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        problems.append(f"{path}.containers: Required value")
        return
    for i, c in enumerate(containers):
        if not isinstance(c, dict) or not c.get("name"):
            problems.append(f"{path}.containers[{i}].name: Required value")
            continue
        if not c.get("image"):
            problems.append(f"{path}.containers[{i}].image: Required value")
        for kind in ("requests", "limits"):
            for res, q in ((c.get("resources") or {}).get(kind) or {}).items():
                try:
                    parse_quantity(q)
                except ValueError:
                    problems.append(f"{path}.containers[{i}].resources.{kind}[{res}]: Invalid value: {q!r}")


def _workload(obj: Obj, problems: list[str]) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        problems.append("spec: Required value")
        return
    _replicas(spec, problems)
    selector = spec.get("selector")
    template = spec.get("template")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        problems.append("spec.selector: Required value")
    if not isinstance(template, dict):
        problems.append("spec.template: Required value")
        return
    labels = (template.get("metadata") or {}).get("labels") or {}
    if isinstance(selector, dict) and not matches_selector(selector, labels):
        problems.append("spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`")
    _pod_spec(template.get("spec"), "spec.template.spec", problems)


def check(rt: ResourceType, obj: Obj, old: Obj | None = None) -> None:
    """Raise 422 when `obj` may not be stored (as a new object, or replacing `old`)."""
    problems: list[str] = []
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise apierrors.invalid(rt.kind, "", ["metadata: Required value"])
    name = meta.get("name") or ""
    if not name and not meta.get("generateName"):
        problems.append("metadata.name: Required value: name or generateName is required")
    elif name and not SUBDOMAIN.match(name):
        problems.append(f"metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 subdomain must consist of "
                        "lower case alphanumeric characters, '-' or '.'")
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        problems.append("metadata.labels: Invalid value: label values must be strings")
    if rt.kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        _workload(obj, problems)
        if old is not None and (old.get("spec") or {}).get("selector") != (obj.get("spec") or {}).get("selector"):
            problems.append("spec.selector: Invalid value: field is immutable")
    elif rt.kind == "Pod":
        _pod_spec(obj.get("spec"), "spec", problems)
        if old is not None and _containers_shape(old) != _containers_shape(obj):
            problems.append("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"
                            " and a few others")
    elif rt.kind == "Namespace" and name and not LABEL.match(name):
        problems.append(f"metadata.name: Invalid value: {name!r}: a lowercase RFC 1123 label is required")
    if problems:
        raise apierrors.invalid(rt.kind, name, problems)


def _containers_shape(pod: Obj) -> list[str]:
    return [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
