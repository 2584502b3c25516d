"""Dry-run rules on sample events (`tagent test-rule`, after StackStorm's st2-rule-tester).

The events go through a real Detector, in order, with the clock at each event's `observed_at`, so a
list of samples exercises `for:` windows and `all` sequences exactly as the engine would. For each
decision the playbook's steps are rendered with the same templates a run would use; nothing is executed
and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import pydantic

from tagent.detect.detector import Detector
from tagent.detect.render import ParamsTemplate, RenderError, template_context
from tagent.errors import ValidationError
from tagent.model.core import Decision, Event, WorkloadRef, utcnow
from tagent.model.policy import Playbook, Rule, TracesCond
from tagent.traces.source import RED_KEYS, TraceQuery, red_event, trace_queries

DRY_RUN_VERSION = "dry-run"
Judge = Callable[[Decision, Rule], dict[str, Any]]
"""What the guard would say about a decision (the CLI wires the real guard on a scratch store)."""


class TraceRed(pydantic.BaseModel):
    """What a service's spans said at one moment: the RED numbers a `traces` condition compares (those left
    out are unknown; `requests` left out counts as enough for `min_requests`)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    service: str  # NAMESPACE/NAME
    kind: str = "Deployment"  # of the workload the service runs as
    labels: dict[str, str] = pydantic.Field(default_factory=dict)  # the workload's labels (match.selector)
    rate_per_s: float | None = None
    error_ratio: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    requests: float | None = None

    @pydantic.field_validator("service")
    @classmethod
    def _service(cls, v: str) -> str:
        try:
            TracesCond.model_validate({"service": v, "metric": "p99_ms", "op": ">", "value": 0})
        except pydantic.ValidationError as exc:  # the condition's own wording, without its nesting
            raise ValueError(str(exc.errors()[0]["ctx"]["error"])) from None
        return v


class TraceSample(pydantic.BaseModel):
    """A trace sample for `tagent test-rule`: `{traces: {service: shop/checkout, p99_ms: 2300}, observed_at: ...}`."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    traces: TraceRed
    observed_at: datetime = pydantic.Field(default_factory=utcnow)

    def events(self, queries: Iterable[TraceQuery]) -> list[Event]:
        """The events the traces source would emit for this sample, one per matching `traces` condition."""
        s = self.traces
        namespace, _, name = s.service.partition("/")
        target = WorkloadRef(kind=s.kind, namespace=namespace, name=name)
        out = []
        for query in queries:
            if query.service not in (None, s.service):
                continue
            red = {**s.model_dump(include=set(RED_KEYS), exclude_none=True), "source": "sample"}
            red.setdefault("requests", query.min_requests)
            event = red_event(query, red, target, s.labels, self.observed_at)
            if event is not None:
                out.append(event)
        return out


Sample = Event | TraceSample


def parse_events(raw: Any) -> list[Sample]:
    """One sample event or a list of them (parsed YAML/JSON) as Events, or trace samples (a mapping with a
    `traces` key); the first problem is one line, e.g. `event.1.target: Field required`."""
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if not items:
        raise ValidationError("event: give one event or a non-empty list of events")
    events: list[Sample] = []
    for i, item in enumerate(items):
        try:
            if isinstance(item, dict) and "traces" in item:
                events.append(TraceSample.model_validate(item))
            else:
                events.append(Event.model_validate(item))
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "event"
            prefix = f"event.{i}." if len(items) > 1 else "event."
            raise ValidationError(f"{prefix}{where}: {err['msg']}") from None
    return events


def _steps(playbook: Playbook, rule: Rule, event: Event, decision: Decision) -> list[dict[str, Any]]:
    """Each step with its `with` rendered (or the rendering error), as a run would see them."""
    params = {name: spec.default for name, spec in playbook.spec.params.items()}
    params.update(decision.params)
    ctx = template_context(rule, event, params)
    out: list[dict[str, Any]] = []
    for i, step in enumerate(playbook.spec.steps):
        item: dict[str, Any] = {"name": step.name or f"step-{i + 1}", "action": step.action}
        try:
            item["with"] = ParamsTemplate(step.with_, where=f"steps[{i}].with").render(ctx)
        except RenderError as exc:
            item["error"] = str(exc)
        out.append(item)
    return out


def dry_run(rules: Sequence[Rule], events: Iterable[Sample], playbooks: Mapping[str, Playbook] | None = None,
            protected_namespaces: Iterable[str] = ("kube-system",), judge: Judge | None = None) -> dict[str, Any]:
    """JSON-ready outcome: `fired`, and one entry per decision with its params, playbook steps and (with a
    `judge`) the guard's verdict.

    `playbooks` None means "not looked up" (steps: null); a missing name gives `playbook_found: false`."""
    clock_at: list[Any] = [None]
    detector = Detector(rules, DRY_RUN_VERSION, clock=lambda: clock_at[0],
                        protected_namespaces=protected_namespaces)
    by_name = {r.name: r for r in rules}
    decisions: list[dict[str, Any]] = []
    count = 0
    queries = trace_queries(rules)
    try:
        for index, sample in enumerate(events):
            count += 1
            clock_at[0] = sample.observed_at
            for event, decision in _decide(detector, sample, queries):
                rule = by_name[decision.rule]
                entry: dict[str, Any] = {"event_index": index, **decision.model_dump(mode="json")}
                entry.pop("id")
                entry.pop("decided_at")
                entry["error"] = decision.params.get("error") if decision.playbook is None else None
                wanted = rule.spec.then.playbook if decision.playbook is None else decision.playbook
                found = playbooks.get(wanted) if playbooks is not None and wanted else None
                entry["playbook_found"] = None if playbooks is None or not wanted else found is not None
                entry["steps"] = (_steps(found, rule, event, decision)
                                  if found is not None and decision.playbook is not None else None)
                entry["guard"] = judge(decision, rule) if judge is not None else None
                decisions.append(entry)
    finally:
        detector.close()
    return {"fired": bool(decisions), "rules": [r.name for r in rules], "enabled": [r.name for r in rules
            if r.spec.enabled], "events": count, "decisions": decisions}


def _decide(detector: Detector, sample: Sample, queries: list[TraceQuery]) -> Iterator[tuple[Event, Decision]]:
    """(event, decision) for one input: an Event as given, a trace sample as the traces source's events."""
    for event in sample.events(queries) if isinstance(sample, TraceSample) else [sample]:
        for decision in detector.process(event):
            yield event, decision
