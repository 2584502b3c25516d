"""Answers to the read intents (get, logs, metrics) from live cluster data, the way kubectl would show them.

Each function takes the `KubeClient` and the resolved target and returns an `Answer`: the text a person
reads (kubectl-like tables, one fact per line) and the same facts as data for the API and the dashboard.
Nothing here mutates, and nothing is cached: "how many servers are running right now?" means now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tagent.chat.intent import ChatIntent, ChatTarget, Metric, TargetKind
from tagent.clients.kubernetes import KubeClient, PodInfo
from tagent.clients.kubernetes.convert import quantity
from tagent.model import WorkloadInfo, WorkloadRef

MAX_LOG_PODS = 5  # `kubectl logs deployment/x` shows one pod; chat shows a few, each under its name


@dataclass(frozen=True)
class Answer:
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("   ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])


def cores(value: float) -> str:
    """kubectl top's CPU column: millicores."""
    return f"{round(value * 1000)}m"


def mebibytes(value: float) -> str:
    """kubectl top's memory column: MiB."""
    return f"{round(value / 2**20)}Mi"


def pod_status(pod: PodInfo) -> str:
    """kubectl's STATUS column: a container's waiting/termination reason wins over the phase."""
    if pod.deleting:
        return "Terminating"
    for c in pod.containers:
        if c.state in ("waiting", "terminated") and c.reason:
            return c.reason
    return pod.phase or "Unknown"


def _ready(pod: PodInfo) -> str:
    return f"{sum(c.ready for c in pod.containers)}/{len(pod.containers)}"


def workload_pods(kube: KubeClient, target: ChatTarget) -> list[PodInfo]:
    """The pods a Deployment/StatefulSet owns (through its ReplicaSets), sorted by name."""
    ref = WorkloadRef(kind=target.kind.value, namespace=target.namespace, name=target.name)
    pods = [p for p in kube.list_pods(target.namespace) if kube.owner_of(p) == ref]
    return sorted(pods, key=lambda p: p.name)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _pods_answer(pods: list[PodInfo], where: str) -> Answer:
    ready = sum(p.ready for p in pods)
    if not pods:
        return Answer(f"No pods {where}.", {"count": 0, "ready": 0, "pods": []})
    rows = [[p.name, _ready(p), pod_status(p), str(p.restarts), p.node or "<none>"] for p in pods]
    header = ["NAME", "READY", "STATUS", "RESTARTS", "NODE"]
    text = f"{plural(len(pods), 'pod')} {where}, {ready} ready:\n" + _table(header, rows)
    data = [{"namespace": p.namespace, "name": p.name, "ready": p.ready, "status": pod_status(p),
             "restarts": p.restarts, "node": p.node} for p in pods]
    return Answer(text, {"count": len(pods), "ready": ready, "pods": data})


def _workloads_answer(workloads: list[WorkloadInfo], where: str) -> Answer:
    rows = [[w.ref.namespace, w.ref.name, w.ref.kind, f"{w.ready_replicas}/{w.replicas}"] for w in workloads]
    healthy = sum(w.healthy for w in workloads)
    text = (f"{plural(len(workloads), 'workload')} {where}, {healthy} with every replica ready:\n"
            + _table(["NAMESPACE", "NAME", "KIND", "READY"], rows)) if workloads else f"No workloads {where}."
    data = [{"namespace": w.ref.namespace, "name": w.ref.name, "kind": w.ref.kind, "replicas": w.replicas,
             "ready_replicas": w.ready_replicas} for w in workloads]
    return Answer(text, {"count": len(workloads), "workloads": data})


def get(kube: KubeClient, intent: ChatIntent) -> Answer:
    target = intent.target or ChatTarget(kind=TargetKind.node)
    if target.kind is TargetKind.node:
        nodes = [n for n in kube.list_nodes() if not target.name or n.name == target.name]
        ready = [n for n in nodes if n.ready]
        if not nodes:
            return Answer(f"No node named {target.name}." if target.name else "The cluster has no nodes.",
                          {"count": 0, "ready": 0, "nodes": []})
        listed = ", ".join(f"{n.name} ({'Ready' if n.ready else 'NotReady'})" for n in nodes)
        verb = "is" if len(nodes) == 1 else "are"
        head = (f"{plural(len(nodes), 'node')} {verb} running, all Ready" if len(ready) == len(nodes)
                else f"{plural(len(nodes), 'node')}, {len(ready)} Ready and {len(nodes) - len(ready)} NotReady")
        if target.name:
            head = f"Node {target.name} is {'Ready' if ready else 'NotReady'}"
        data = [{"name": n.name, "ready": n.ready, "cpu": n.cpu, "memory": n.memory} for n in nodes]
        return Answer(f"{head}: {listed}.", {"count": len(nodes), "ready": len(ready), "nodes": data})
    if target.kind is TargetKind.namespace:
        names = sorted({w.ref.namespace for w in kube.list_workloads()})
        return Answer(f"{len(names)} namespaces run workloads: {', '.join(names)}.", {"namespaces": names})
    if target.kind is TargetKind.pod:
        where = f"in namespace {target.namespace}" if target.namespace else "in the cluster"
        return _pods_answer(sorted(kube.list_pods(target.namespace or None), key=lambda p: (p.namespace, p.name)),
                            where)
    if not target.name:
        where = f"in namespace {target.namespace}" if target.namespace else "in the cluster"
        return _workloads_answer(kube.list_workloads(target.namespace or None), where)
    found = [w for w in kube.list_workloads(target.namespace) if w.ref.name == target.name]
    if not found:
        return Answer(f"{target} does not exist (any more).", {"exists": False})
    w = found[0]
    pods = _pods_answer(workload_pods(kube, target), f"of {target}")
    text = (f"{target} ({w.ref.kind}): {w.ready_replicas} of {w.replicas} replicas ready, runtime "
            f"{w.runtime.value}, image {', '.join(w.images) or 'unknown'}.\n{pods.text}")
    return Answer(text, {"exists": True, "replicas": w.replicas, "ready_replicas": w.ready_replicas,
                         "images": w.images, **pods.data})


def logs(kube: KubeClient, intent: ChatIntent) -> Answer:
    target = intent.target
    assert target is not None and target.is_workload
    tail = intent.params.tail or 100
    since = _seconds(intent.params.since)
    pods = workload_pods(kube, target)
    if not pods:
        return Answer(f"{target} has no pods, so there are no logs to show.", {"pods": []})
    shown, blocks = [], []
    for pod in pods[:MAX_LOG_PODS]:
        text = kube.pod_logs(target.namespace, pod.name, tail_lines=tail, since_seconds=since).rstrip("\n")
        lines = text.splitlines()
        shown.append({"pod": pod.name, "lines": lines})
        blocks.append(f"==> {pod.name} (last {len(lines)} lines) <==\n" + (text or "(no output)"))
    more = f"\n({len(pods) - MAX_LOG_PODS} more pods not shown)" if len(pods) > MAX_LOG_PODS else ""
    return Answer("\n".join(blocks) + more, {"pods": shown})


def _seconds(duration: str | None) -> int | None:
    if not duration:
        return None
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(duration[-1])
    return int(duration[:-1]) * unit if unit and duration[:-1].isdigit() else None


def metrics(kube: KubeClient, intent: ChatIntent) -> Answer:
    target = intent.target or ChatTarget(kind=TargetKind.node)
    metric = intent.params.metric
    note = ""
    if metric in (Metric.request_rate, Metric.error_rate, Metric.latency):
        note = (f"\n({metric.value.replace('_', ' ')} comes from Prometheus, which chat does not query; "
                "these are CPU and memory from metrics.k8s.io.)")
    if target.kind is TargetKind.node:
        return _node_metrics(kube, target, note)
    if target.is_workload and target.name:
        pods = workload_pods(kube, target)
        names = {p.name for p in pods}
        where = f"of {target}"
    else:
        pods = kube.list_pods(target.namespace or None)
        names = {p.name for p in pods}
        where = f"in namespace {target.namespace}" if target.namespace else "in the cluster"
    if metric is Metric.restarts:
        rows = [[p.name, str(p.restarts), pod_status(p)] for p in pods]
        total = sum(p.restarts for p in pods)
        table = _table(["NAME", "RESTARTS", "STATUS"], rows)
        return Answer(f"{plural(total, 'container restart')} {where}:\n{table}",
                      {"restarts": {p.name: p.restarts for p in pods}})
    usage = sorted((u for u in kube.pod_metrics(target.namespace or None) if u.name in names),
                   key=lambda u: u.name)
    if not usage:
        return Answer(f"No metrics {where} yet (metrics.k8s.io has no samples for these pods).{note}", {"pods": []})
    cpu, memory = sum(u.cpu for u in usage), sum(u.memory for u in usage)
    rows = [[u.name, cores(u.cpu), mebibytes(u.memory)] for u in usage]
    text = (f"CPU {cores(cpu)} and memory {mebibytes(memory)} in total {where} ({plural(len(usage), 'pod')}):\n"
            + _table(["NAME", "CPU(cores)", "MEMORY(bytes)"], rows) + note)
    data = [{"name": u.name, "cpu_cores": round(u.cpu, 4), "memory_bytes": int(u.memory)} for u in usage]
    return Answer(text, {"cpu_cores": round(cpu, 4), "memory_bytes": int(memory), "pods": data})


def _node_metrics(kube: KubeClient, target: ChatTarget, note: str) -> Answer:
    capacity = {n.name: n for n in kube.list_nodes()}
    usage = sorted((u for u in kube.node_metrics() if not target.name or u.name == target.name),
                   key=lambda u: u.name)
    if not usage:
        return Answer(f"No node metrics yet (metrics.k8s.io has no samples).{note}", {"nodes": []})
    rows, data = [], []
    for u in usage:
        node = capacity.get(u.name)
        cpu_cap = quantity(node.cpu) if node and node.cpu else 0.0
        mem_cap = quantity(node.memory) if node and node.memory else 0.0
        cpu_pct = f"{100 * u.cpu / cpu_cap:.0f}%" if cpu_cap else "<unknown>"
        mem_pct = f"{100 * u.memory / mem_cap:.0f}%" if mem_cap else "<unknown>"
        rows.append([u.name, cores(u.cpu), cpu_pct, mebibytes(u.memory), mem_pct])
        data.append({"name": u.name, "cpu_cores": round(u.cpu, 4), "memory_bytes": int(u.memory),
                     "cpu_percent": round(100 * u.cpu / cpu_cap, 1) if cpu_cap else None,
                     "memory_percent": round(100 * u.memory / mem_cap, 1) if mem_cap else None})
    text = (f"CPU and memory of {len(usage)} node{'s' if len(usage) != 1 else ''}:\n"
            + _table(["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"], rows) + note)
    return Answer(text, {"nodes": data})
