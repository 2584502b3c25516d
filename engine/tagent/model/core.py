"""Runtime core types: events in, decisions, incidents and step results out.

Kept flat and small on purpose: durable_rules caps an event at 255 properties, and every type here is
stored, sent over the API and rendered in post-mortems.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


def utcnow() -> datetime:
    """Timezone-aware now in UTC (the only clock default; pass a clock where time matters)."""
    return datetime.now(UTC)


_ids = random.Random(os.urandom(32))
_ids_pid = os.getpid()


def new_id() -> str:
    """16 hex digits (64 random bits): an identifier, not a secret (tokens use `secrets`). A PRNG seeded from the
    OS once per process: one `os.urandom` call per id cost 0.1-0.3 ms under load, in every decision."""
    global _ids, _ids_pid
    if os.getpid() != _ids_pid:  # a forked child must not repeat its parent's ids
        _ids, _ids_pid = random.Random(os.urandom(32)), os.getpid()
    return f"{_ids.getrandbits(64):016x}"


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class Mode(StrEnum):
    auto = "auto"
    approve = "approve"
    notify = "notify"


class EventSource(StrEnum):
    kubernetes = "kubernetes"
    metrics = "metrics"
    prometheus = "prometheus"
    logs = "logs"
    alert = "alert"
    chat = "chat"
    cloud = "cloud"
    traces = "traces"  # RED of a service computed from its spans (tagent.traces)


def workload_key(kind: str, namespace: str, name: str, cluster: str = "") -> str:
    """`WorkloadRef.key` from its parts (a store row's columns need no model to be compared by key)."""
    base = f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"
    return f"{cluster}:{base}" if cluster else base


class WorkloadRef(BaseModel):
    """What an event is about: a workload (Deployment, StatefulSet), a pod or a node, in a cluster ("" is the
    home cluster: every single-cluster record; docs/architecture.md, Many clusters). The cluster prefixes the
    key, so cooldowns, limits, dedup and fingerprints are per cluster; an empty cluster is left out of dumps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = "Deployment"
    namespace: str = ""
    name: str
    cluster: str = ""

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.cluster:
            data.pop("cluster", None)
        return data

    @property
    def key(self) -> str:
        return workload_key(self.kind, self.namespace, self.name, self.cluster)

    def __str__(self) -> str:
        base = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{base} in {self.cluster}" if self.cluster else base


class Event(BaseModel):
    """One observation from a source, normalised for matching."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_id)
    source: EventSource
    kind: str  # e.g. PodState, K8sEvent, Metric, LogPattern, Alert, Rollout
    reason: str = ""  # e.g. CrashLoopBackOff, OOMKilled, RolloutStarted, cpu_utilization
    target: WorkloadRef
    labels: dict[str, str] = Field(default_factory=dict)
    values: dict[str, float] = Field(default_factory=dict)
    message: str = ""
    observed_at: datetime = Field(default_factory=utcnow)


class Decision(BaseModel):
    """A rule matched: what should run, on what, under which rules version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_id)
    rule: str
    rules_version: str
    target: WorkloadRef
    event_ids: list[str] = Field(default_factory=list)
    playbook: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    mode: Mode = Mode.auto
    severity: Severity = Severity.warning
    decided_at: datetime = Field(default_factory=utcnow)


class IncidentStatus(StrEnum):
    """The incident state machine (docs/incidents.md): open -> mitigating (acting) or awaiting_ack (waiting for a
    person) -> resolved, failed or superseded (another rule's incident took over the workload)."""

    open = "open"
    mitigating = "mitigating"
    awaiting_ack = "awaiting_ack"
    resolved = "resolved"
    failed = "failed"
    superseded = "superseded"

    @property
    def closed(self) -> bool:
        return self in (IncidentStatus.resolved, IncidentStatus.failed, IncidentStatus.superseded)


class TimelineEntry(BaseModel):
    """One line of an incident's timeline as stored and served: `kind`, a readable `summary` and `data`, whose
    shape per kind is the typed model of `tagent.model.timeline` (`TimelineEntry.typed()` parses it; rows
    written before the typed models, or of a kind this version does not know, parse as `OtherData`)."""

    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(default_factory=utcnow)
    kind: str  # event | decision | guard | step | notification | call | ack | approval | status | note | draft
    summary: str
    data: dict[str, Any] = Field(default_factory=dict)

    def typed(self) -> Any:
        """The entry's data as its typed model (tagent.model.timeline.Payload)."""
        from tagent.model.timeline import parse_payload

        return parse_payload(self.kind, self.data)


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=new_id)
    fingerprint: str  # rule + target key
    rule: str
    target: WorkloadRef
    status: IncidentStatus = IncidentStatus.open
    severity: Severity = Severity.warning
    rules_version: str = ""
    timeline: list[TimelineEntry] = Field(default_factory=list)
    opened_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None


class StepStatus(StrEnum):
    ok = "ok"
    failed = "failed"
    skipped = "skipped"
    dry_run = "dry_run"
    approval_required = "approval_required"
    blocked = "blocked"


class StepResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StepStatus
    detail: str = ""
    command: str = ""  # kubectl (or CLI) equivalent, for the audit trail
    data: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime = Field(default_factory=utcnow)
