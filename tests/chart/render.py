"""Render and lint charts/tagent for real through Helm's Go SDK (helm-python-sdk, no `helm` binary).

Every test of the chart goes through `render()`: it returns the manifests parsed as YAML, so assertions
are about Kubernetes objects, never about template text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "tagent"
RELEASE = "tagent"
NAMESPACE = "tagent-system"

# The mutating verbs of the Kubernetes API: none may appear in read-only mode.
MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", "escalate", "bind",
                            "impersonate"})


@dataclass(frozen=True)
class Rendered:
    """One render: the objects by (kind, name), and NOTES.txt."""

    objects: tuple[dict[str, Any], ...]
    notes: str
    fullname: str = RELEASE  # the chart's name prefix for this release

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.all(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, got {[o['metadata']['name'] for o in self.all(kind)]}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(o["metadata"]["name"] == name for o in self.all(kind))

    def deployment(self, component: str) -> dict[str, Any]:
        return self.get("Deployment", f"{self.fullname}-{component}")

    def container(self, component: str, name: str | None = None) -> dict[str, Any]:
        spec = self.deployment(component)["spec"]["template"]["spec"]
        return next(c for c in spec["containers"] if c["name"] == (name or component))

    def env(self, component: str, container: str | None = None) -> dict[str, dict[str, Any]]:
        """name -> the env entry (with `value` or `valueFrom`)."""
        return {e["name"]: e for e in self.container(component, container).get("env", [])}

    def pod_containers(self) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(workload name, pod spec, container) for every container and init container of every workload."""
        for dep in self.all("Deployment"):
            pod = dep["spec"]["template"]["spec"]
            for c in [*pod.get("initContainers", []), *pod["containers"]]:
                yield dep["metadata"]["name"], pod, c


def load_chart(path: Path = CHART) -> helm_python.Chart:
    return helm_python.Chart.load(path)


def render(values: dict[str, Any] | None = None, *, chart: Path = CHART, name: str = RELEASE,
           namespace: str = NAMESPACE) -> Rendered:
    """Render like `helm template` (schema validation included) and parse every manifest."""
    with load_chart(chart) as loaded:
        manifests = loaded.render(values or {}, name=name, namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(tuple(objects), notes, name if "tagent" in name else f"{name}-tagent")


def lint(values: dict[str, Any] | None = None, *, chart: Path = CHART, strict: bool = False) -> dict[str, Any]:
    return helm_python.lint(chart, values, strict=strict, namespace=NAMESPACE)


def lint_problems(report: dict[str, Any], *, ignore: tuple[str, ...] = ()) -> list[str]:
    """Lint messages of severity warning (2) or error (3), minus those containing an ignored text."""
    return [f"{m['path']}: {m['error']}" for m in report["messages"]
            if m["severity"] >= 2 and not any(text in m["error"] for text in ignore)]
