"""Builders for detect tests: rules from plain YAML-like data, events, and a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.model.policy import Rule

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    """The Detector's clock seam: returns the time the test sets (aware UTC)."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rule(name: str, when: dict[str, Any], **spec: Any) -> Rule:
    spec.setdefault("then", {"playbook": "restart-workload"})
    return Rule.model_validate({"apiVersion": "tagent.io/v1", "kind": "Rule", "metadata": {"name": name},
                                "spec": {"when": when, **spec}})


def target(name: str = "cart", namespace: str = "shop", kind: str = "Deployment") -> WorkloadRef:
    return WorkloadRef(kind=kind, namespace=namespace, name=name)


def k8s(reason: str, tgt: WorkloadRef | None = None, kind: str = "PodState", **labels: str) -> Event:
    return Event(source=EventSource.kubernetes, kind=kind, reason=reason, target=tgt or target(), labels=labels)


def metric(name: str, value: float, tgt: WorkloadRef | None = None, source: str = "metrics",
           **labels: str) -> Event:
    kind = "Metric" if source == "metrics" else "PromQuery"
    return Event(source=EventSource(source), kind=kind, reason=name, target=tgt or target(),
                 values={"value": value}, labels=labels)


def logs(key: str, count: float, tgt: WorkloadRef | None = None) -> Event:
    return Event(source=EventSource.logs, kind="LogPattern", reason=key, target=tgt or target(),
                 values={"count": count, "window_s": 60})


def alert(name: str, tgt: WorkloadRef | None = None, **labels: str) -> Event:
    return Event(source=EventSource.alert, kind="Alert", reason=name, target=tgt or target(), labels=labels)
