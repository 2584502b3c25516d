"""What the sandbox measures, in two forms: the Prometheus text exposition (for a real `prometheus` to
scrape) and metrics.k8s.io PodMetrics/NodeMetrics (for `kubectl top` and the zero-config engine).

Series carry `namespace` and `deployment` (the owning workload's name, StatefulSets included), so PromQL
can aggregate by workload: `sum by (namespace, deployment) (rate(http_requests_total{code=~"5.."}[1m]))`.
Counter values advance with sandbox time; Prometheus stamps samples with wall time, so at speed N a
per-second rate reads N times the sandbox rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tagent.sandbox.clock import rfc3339
from tagent.sandbox.podstate import BUCKETS, PodState
from tagent.sandbox.quantities import cpu_nanocores, memory_ki, parse_quantity

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NODE_OVERHEAD_CPU = 0.15  # cores the system itself uses on a node
NODE_OVERHEAD_MEMORY = 900 * 2**20


def _labels(**labels: str) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def exposition(pods: Iterable[PodState], namespace: str | None = None) -> str:
    """Prometheus text format (0.0.4) for every pod, or one namespace's."""
    selected = [p for p in pods if namespace is None or p.namespace == namespace]
    out: list[str] = []

    def family(name: str, kind: str, help_: str) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")

    family("http_requests_total", "counter", "HTTP requests served, by status code.")
    for p in selected:
        for (method, code), count in sorted(p.traffic.requests.items()):
            out.append("http_requests_total" + _labels(namespace=p.namespace, deployment=p.workload, pod=p.name,
                                                        method=method, code=code) + f" {_num(round(count, 3))}")
    family("http_request_duration_seconds", "histogram", "HTTP request latency.")
    for p in selected:
        if not p.profile.http:
            continue
        base = {"namespace": p.namespace, "deployment": p.workload, "pod": p.name}
        running = 0.0
        for bound, count in zip(BUCKETS, p.traffic.buckets, strict=False):
            running += count
            out.append("http_request_duration_seconds_bucket" + _labels(**base, le=_num(bound))
                       + f" {_num(round(running, 3))}")
        total = round(p.traffic.duration_count, 3)
        out.append("http_request_duration_seconds_bucket" + _labels(**base, le="+Inf") + f" {_num(total)}")
        out.append("http_request_duration_seconds_sum" + _labels(**base) + f" {round(p.traffic.duration_sum, 6)!r}")
        out.append("http_request_duration_seconds_count" + _labels(**base) + f" {_num(total)}")
    family("container_cpu_usage_seconds_total", "counter", "Cumulative CPU time consumed, in seconds.")
    for p in selected:
        for c in p.containers:
            out.append("container_cpu_usage_seconds_total" + _labels(
                namespace=p.namespace, deployment=p.workload, pod=p.name, container=c.name, node=p.node)
                + f" {round(c.cpu_seconds, 6)!r}")
    family("container_memory_working_set_bytes", "gauge", "Current working set, in bytes.")
    for p in selected:
        for c in p.containers:
            out.append("container_memory_working_set_bytes" + _labels(
                namespace=p.namespace, deployment=p.workload, pod=p.name, container=c.name, node=p.node)
                + f" {int(c.memory)}")
    family("container_spec_memory_limit_bytes", "gauge", "Memory limit of the container, 0 when unlimited.")
    for p in selected:
        for c in p.containers:
            out.append("container_spec_memory_limit_bytes" + _labels(
                namespace=p.namespace, deployment=p.workload, pod=p.name, container=c.name)
                + f" {int(c.limit_memory or 0)}")
    family("kube_pod_container_status_restarts_total", "counter", "Container restarts.")
    for p in selected:
        for c in p.containers:
            out.append("kube_pod_container_status_restarts_total" + _labels(
                namespace=p.namespace, deployment=p.workload, pod=p.name, container=c.name)
                + f" {c.restart_count}")
    family("kube_pod_container_status_waiting_reason", "gauge", "1 while the container waits for this reason.")
    for p in selected:
        for c in p.containers:
            if c.status == "backoff":
                out.append("kube_pod_container_status_waiting_reason" + _labels(
                    namespace=p.namespace, deployment=p.workload, pod=p.name, container=c.name,
                    reason="CrashLoopBackOff") + " 1")
    return "\n".join(out) + "\n"


def pod_metrics(p: PodState, labels: dict[str, str], now: datetime) -> dict[str, Any]:
    return {"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": p.name, "namespace": p.namespace, "labels": labels,
                         "creationTimestamp": rfc3339(now)},
            "timestamp": rfc3339(now), "window": "30s",
            "containers": [{"name": c.name, "usage": {"cpu": cpu_nanocores(c.cpu), "memory": memory_ki(c.memory)}}
                           for c in p.containers]}


def node_metrics(node: dict[str, Any], pods: Iterable[PodState], now: datetime) -> dict[str, Any]:
    name = node["metadata"]["name"]
    mine = [p for p in pods if p.node == name]
    cpu = NODE_OVERHEAD_CPU + sum(c.cpu for p in mine for c in p.containers)
    memory = NODE_OVERHEAD_MEMORY + sum(c.memory for p in mine for c in p.containers)
    capacity = parse_quantity(node["status"]["capacity"].get("memory", "16Gi"))
    return {"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {"name": name, "labels": node["metadata"].get("labels") or {},
                         "creationTimestamp": rfc3339(now)},
            "timestamp": rfc3339(now), "window": "30s",
            "usage": {"cpu": cpu_nanocores(cpu), "memory": memory_ki(min(memory, capacity))}}
