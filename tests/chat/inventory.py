"""The default sandbox inventory (issue 4's default scenario) as data, for parser and resolver tests."""

from __future__ import annotations

from tagent.model.core import WorkloadRef
from tagent.model.inventory import NodeInfo, Runtime, WorkloadInfo


def workload(namespace: str, name: str, replicas: int, runtime: Runtime, kind: str = "Deployment") -> WorkloadInfo:
    return WorkloadInfo(ref=WorkloadRef(kind=kind, namespace=namespace, name=name), replicas=replicas,
                        ready_replicas=replicas, runtime=runtime, labels={"app": name})


def sandbox_workloads() -> list[WorkloadInfo]:
    return [
        workload("shop", "frontend", 3, Runtime.nodejs),
        workload("shop", "checkout", 2, Runtime.python),
        workload("shop", "payment-service", 2, Runtime.java),
        workload("shop", "cart", 2, Runtime.go),
        workload("shop", "redis-cache", 1, Runtime.cache),
        workload("shop", "postgres", 1, Runtime.database, kind="StatefulSet"),
        workload("test", "test-env", 1, Runtime.unknown),
        workload("kube-system", "coredns", 2, Runtime.unknown),
    ]


def sandbox_nodes() -> list[NodeInfo]:
    return [NodeInfo(name=name, ready=True, cpu="4", memory="16Gi") for name in ("node-a", "node-b", "node-c")]
