"""The only package that imports `kubernetes` (enforced by import-linter): one typed client per cluster."""

from tagent.clients.kubernetes.client import KubeClient, Selector, selector_string
from tagent.clients.kubernetes.leases import Lease, LeaseConflict, Leases, LeaseSpec
from tagent.clients.kubernetes.rollout import rollout_status_of
from tagent.clients.kubernetes.runtime import infer_runtime
from tagent.clients.kubernetes.types import (
    ContainerState,
    DeploymentInfo,
    KubeEvent,
    NodeUsage,
    PodInfo,
    PodUsage,
    RolloutStatus,
    UndoResult,
    WatchEvent,
)
from tagent.clients.kubernetes.watch import Gone, Watcher

__all__ = [
    "ContainerState",
    "DeploymentInfo",
    "Gone",
    "KubeClient",
    "KubeEvent",
    "Lease",
    "LeaseConflict",
    "LeaseSpec",
    "Leases",
    "NodeUsage",
    "PodInfo",
    "PodUsage",
    "RolloutStatus",
    "Selector",
    "UndoResult",
    "WatchEvent",
    "Watcher",
    "infer_runtime",
    "rollout_status_of",
    "selector_string",
]
