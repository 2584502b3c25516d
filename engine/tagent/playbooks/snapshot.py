"""What a run needs to resume after a crash, stored with the run itself (`runs.params`).

A run is executed from this snapshot, never from the live rules: the playbook that started is the playbook
that finishes, even if a new rules version activated meanwhile. Layout of `RunRecord.params`:

    {"params": {...}, "playbook": {...spec as YAML keys...}, "event": {...}, "rule": {...},
     "origin": {"decision": {...}} | {"actor": "chat:alice"}, "routes": [...], "phones": [...],
     "ack_timeout": 300.0, "severity": "critical"}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tagent.model import Decision, Event, EventSource, WorkloadRef
from tagent.model.policy import PlaybookSpec, Step


class RunSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")

    params: dict[str, Any] = Field(default_factory=dict)
    playbook: dict[str, Any]
    event: dict[str, Any] | None = None
    rule: dict[str, Any] = Field(default_factory=dict)
    decision: dict[str, Any] | None = None
    actor: str | None = None
    routes: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    ack_timeout: float = 300.0
    severity: str = "warning"

    @classmethod
    def build(cls, spec: PlaybookSpec, *, origin: Decision | str, target: WorkloadRef, event: Event | None,
              rule: dict[str, Any], params: dict[str, Any], routes: list[str], phones: list[str],
              ack_timeout: float, severity: str) -> RunSnapshot:
        resolved = {name: p.default for name, p in spec.params.items()}
        resolved.update(params)
        return cls(params=resolved, playbook=spec.model_dump(mode="json", by_alias=True),
                   event=(event or manual_event(target, origin)).model_dump(mode="json"), rule=rule,
                   decision=origin.model_dump(mode="json") if isinstance(origin, Decision) else None,
                   actor=origin if isinstance(origin, str) else None, routes=routes, phones=phones,
                   ack_timeout=ack_timeout, severity=severity)

    def spec(self) -> PlaybookSpec:
        return PlaybookSpec.model_validate(self.playbook)

    def steps(self, section: str) -> list[Step]:
        spec = self.spec()
        return list(spec.steps if section == "steps" else spec.on_failure)

    def origin(self) -> Decision | str:
        if self.decision is not None:
            return Decision.model_validate(self.decision)
        return self.actor or "tagent"

    def event_model(self, target: WorkloadRef) -> Event:
        return Event.model_validate(self.event) if self.event else manual_event(target, self.origin())


def manual_event(target: WorkloadRef, origin: Decision | str) -> Event:
    """A stand-in event for runs nobody's observation started (chat, API): templates still find `event`."""
    who = origin if isinstance(origin, str) else f"rule:{origin.rule}"
    return Event(source=EventSource.chat, kind="Manual", reason="manual", target=target, message=f"started by {who}")


def rule_context(name: str, *, severity: str = "warning", mode: str = "auto", labels: dict[str, str] | None = None,
                 description: str = "", playbook: str | None = None) -> dict[str, Any]:
    """What templates see as `rule` (the same keys tagent.detect gives a rule's `then.params`)."""
    return {"name": name, "labels": dict(labels or {}), "severity": severity, "mode": mode,
            "description": description, "playbook": playbook}
