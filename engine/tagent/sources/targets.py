"""Which workload a set of labels (a PromQL series, a Loki stream, an alert) is about.

The label names are the common ones of kube-state-metrics, cAdvisor, Promtail and the Prometheus
Operator's alert rules: `namespace` plus `deployment` / `statefulset` / `workload` / `app` / `pod`, or
`node` for node-level series. A pod name is resolved to its owner by the optional `resolve_pod` callback
(the Kubernetes API), else by the names Kubernetes itself generates (`<deploy>-<rs hash>-<suffix>`,
`<statefulset>-<ordinal>`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tagent.model.core import WorkloadRef

PodResolver = Callable[[str, str], WorkloadRef | None]

_DEPLOY_POD = re.compile(r"^(?P<name>.+)-[a-z0-9]{5,10}-[a-z0-9]{5}$")
_STS_POD = re.compile(r"^(?P<name>.+)-\d+$")
_KIND_LABELS = (("deployment", "Deployment"), ("statefulset", "StatefulSet"), ("workload", "Deployment"))
_APP_LABELS = ("app_kubernetes_io_name", "app")


def owner_from_pod_name(namespace: str, pod: str) -> WorkloadRef:
    """Best guess of a pod's owner from its generated name (used when the API cannot tell)."""
    if m := _DEPLOY_POD.match(pod):
        return WorkloadRef(kind="Deployment", namespace=namespace, name=m.group("name"))
    if m := _STS_POD.match(pod):
        return WorkloadRef(kind="StatefulSet", namespace=namespace, name=m.group("name"))
    return WorkloadRef(kind="Pod", namespace=namespace, name=pod)


def target_from_labels(labels: dict[str, str], resolve_pod: PodResolver | None = None) -> WorkloadRef | None:
    """The workload `labels` name, or None when they name none."""
    namespace = labels.get("namespace", "")
    if namespace:
        for label, kind in _KIND_LABELS:
            if labels.get(label):
                if label == "workload" and labels.get("workload_type", "").lower() == "statefulset":
                    kind = "StatefulSet"
                return WorkloadRef(kind=kind, namespace=namespace, name=labels[label])
        pod = labels.get("pod") or labels.get("pod_name") or ""
        if pod and resolve_pod is not None and (resolved := resolve_pod(namespace, pod)) is not None:
            return resolved
        for label in _APP_LABELS:
            if labels.get(label):
                return WorkloadRef(kind="Deployment", namespace=namespace, name=labels[label])
        return owner_from_pod_name(namespace, pod) if pod else None
    if labels.get("node"):
        return WorkloadRef(kind="Node", name=labels["node"])
    return None
