"""The incident state machine (docs/incidents.md): every status change goes through `transition`.

    open ──► mitigating (acting: a playbook changed the cluster) ──► resolved | failed
      │ ▲                                                              ▲
      ▼ │ (acknowledged, denied)                                       │
    awaiting_ack (waiting for a person or Night Mode) ─────────────────┘
    open | awaiting_ack ──► superseded (an automatic rule on the same workload took over)
    open ──► resolved (by a person, or the condition cleared: no evidence for `incident_quiet_after`)

Closed statuses (resolved, failed, superseded) are final: a fault that comes back opens a new incident that
links the previous one (and counts as a flap), it never reopens a written-up one.
"""

from __future__ import annotations

from tagent.errors import ValidationError
from tagent.model import IncidentStatus

S = IncidentStatus
ALLOWED: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.open: frozenset({S.mitigating, S.awaiting_ack, S.resolved, S.failed, S.superseded}),
    S.awaiting_ack: frozenset({S.open, S.mitigating, S.resolved, S.failed, S.superseded}),
    S.mitigating: frozenset({S.awaiting_ack, S.resolved, S.failed}),
    S.resolved: frozenset(),
    S.failed: frozenset(),
    S.superseded: frozenset(),
}


def may(current: IncidentStatus, new: IncidentStatus) -> bool:
    """True when the machine allows `current -> new` (staying put is allowed and a no-op)."""
    return new == current or new in ALLOWED[current]


def check(current: IncidentStatus, new: IncidentStatus) -> None:
    if not may(current, new):
        raise ValidationError(f"an incident cannot go from {current.value} to {new.value}")
