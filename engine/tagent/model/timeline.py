"""Typed timeline data: one pydantic model per entry kind, a discriminated union on `kind`.

The incident lifecycle (tagent.incidents) writes entries only through these models (`entry(at, summary,
payload)`), so every entry of a kind has the same fields. Reading is tolerant: rows written before these
models existed, or by a newer version, may lack fields or carry extra ones; `parse_payload` keeps what it
can and falls back to `OtherData` (the raw dict) instead of failing a whole incident view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tagent.model.core import TimelineEntry


class TimelineData(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str

    def data(self) -> dict[str, Any]:
        """The stored shape: every field but `kind` (which is the entry's own column)."""
        return self.model_dump(mode="json", exclude={"kind"})


class EventData(TimelineData):
    kind: Literal["event"] = "event"
    id: str
    source: str = ""
    event_kind: str = ""  # PodState, Metric, ... (rows before the typed models kept it as data["kind"])
    reason: str = ""
    message: str = ""
    values: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class DecisionData(TimelineData):
    kind: Literal["decision"] = "decision"
    id: str
    rule: str
    playbook: str | None = None
    mode: str = "auto"
    severity: str = "warning"
    params: dict[str, Any] = Field(default_factory=dict)
    rules_version: str = ""


class GuardData(TimelineData):
    kind: Literal["guard"] = "guard"
    allowed: bool
    mode: str
    reason: str
    detail: str = ""


class StepData(TimelineData):
    kind: Literal["step"] = "step"
    run_id: str
    step_key: str
    section: str = "steps"
    step: str = ""
    action: str = ""
    status: str = ""
    detail: str = ""
    command: str = ""


class StatusData(TimelineData):
    kind: Literal["status"] = "status"
    status: str = ""
    previous: str | None = None


class NoteData(TimelineData):
    kind: Literal["note"] = "note"
    topic: str = ""  # joined | flapping | reopened | linked | deferred | run_started | acting_again | ...
    rule: str | None = None
    decision_id: str | None = None
    run_id: str | None = None
    incident_id: str | None = None  # the incident this one joined, reopened from or links to
    flaps: int | None = None


class ApprovalData(TimelineData):
    kind: Literal["approval"] = "approval"
    approval_id: str | None = None
    playbook: str | None = None
    approved: bool | None = None
    by: str | None = None


class AckData(TimelineData):
    kind: Literal["ack"] = "ack"
    by: str = ""


class NotificationData(TimelineData):
    kind: Literal["notification"] = "notification"
    route: str | None = None
    routes: list[str] = Field(default_factory=list)
    delivered: bool = False
    attempts: int | None = None
    title: str | None = None
    retry: bool = False


class CallData(TimelineData):
    kind: Literal["call"] = "call"
    phone: str | None = None
    sid: str | None = None
    placed: bool | None = None


class DraftData(TimelineData):
    kind: Literal["draft"] = "draft"
    status: str | None = None
    branch: str | None = None
    problems: list[str] = Field(default_factory=list)
    pull_request_url: str | None = None


class OtherData(TimelineData):
    """A kind this version does not know, or a row that does not fit its kind's model: kept as it was."""

    kind: str
    raw: dict[str, Any] = Field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return dict(self.raw)


Payload = Annotated[EventData | DecisionData | GuardData | StepData | StatusData | NoteData | ApprovalData
                    | AckData | NotificationData | CallData | DraftData, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Payload)
KINDS = frozenset({"event", "decision", "guard", "step", "status", "note", "approval", "ack", "notification",
                   "call", "draft"})


def parse_payload(kind: str, data: dict[str, Any]) -> TimelineData:
    """The typed model of a stored entry's data (tolerant: see the module docstring)."""
    if kind == "event" and "kind" in data and "event_kind" not in data:
        data = {**data, "event_kind": data["kind"]}
    if kind in KINDS:
        try:
            return _ADAPTER.validate_python({**data, "kind": kind})
        except ValidationError:
            pass
    return OtherData(kind=kind, raw=dict(data))


def entry(at: datetime, summary: str, payload: TimelineData) -> TimelineEntry:
    """A timeline entry from its typed data (already validated, or built from validated values)."""
    return TimelineEntry(at=at, kind=payload.kind, summary=summary, data=payload.data())  # faster than construct
