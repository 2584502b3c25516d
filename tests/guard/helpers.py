"""Small builders shared by the guard tests."""

from __future__ import annotations

from typing import Any

from tagent.model import Decision, Mode, WorkloadInfo, WorkloadRef
from tagent.settings import Settings

SHA = "0123456789abcdef0123456789abcdef01234567"


def ref(name: str = "api", namespace: str = "shop") -> WorkloadRef:
    return WorkloadRef(namespace=namespace, name=name)


def decision(target: WorkloadRef | None = None, rule: str = "crashloop-restart", mode: Mode = Mode.auto,
             **kw: Any) -> Decision:
    return Decision(rule=rule, rules_version=SHA, target=target or ref(), playbook="restart-workload", mode=mode,
                    **kw)


def workload(target: WorkloadRef | None = None, replicas: int = 4, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> WorkloadInfo:
    return WorkloadInfo(ref=target or ref(), replicas=replicas, ready_replicas=replicas, labels=labels or {},
                        annotations=annotations or {})


def settings(**kw: Any) -> Settings:
    """Settings with generous limits unless a test narrows one (each test names the limit it exercises)."""
    base: dict[str, Any] = {"rate_limit_global_per_hour": 1000, "rate_limit_namespace_per_hour": 1000,
                            "blast_radius_workloads_per_window": 1000, "restart_min_interval": 0,
                            "max_rollbacks_per_hour": 1000}
    base.update(kw)
    return Settings(**base)
