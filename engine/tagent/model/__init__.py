"""Core types shared by every layer (see shared/design/ARCHITECTURE.md, "Core types")."""

from tagent.model.core import (
    Decision,
    Event,
    EventSource,
    Incident,
    IncidentStatus,
    Mode,
    Severity,
    StepResult,
    StepStatus,
    TimelineEntry,
    WorkloadRef,
    utcnow,
)
from tagent.model.inventory import NodeInfo, Runtime, WorkloadInfo

__all__ = [
    "Decision",
    "Event",
    "EventSource",
    "Incident",
    "IncidentStatus",
    "Mode",
    "NodeInfo",
    "Runtime",
    "Severity",
    "StepResult",
    "StepStatus",
    "TimelineEntry",
    "WorkloadInfo",
    "WorkloadRef",
    "utcnow",
]
