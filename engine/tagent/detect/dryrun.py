"""Dry-run rules on sample events (`tagent test-rule`, after StackStorm's st2-rule-tester).

The events go through a real Detector, in order, with the clock at each event's `observed_at`, so a
list of samples exercises `for:` windows and `all` sequences exactly as the engine would. For each
decision the playbook's steps are rendered with the same templates a run would use; nothing is executed
and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pydantic

from tagent.detect.detector import Detector
from tagent.detect.render import ParamsTemplate, RenderError, template_context
from tagent.errors import ValidationError
from tagent.model.core import Decision, Event
from tagent.model.policy import Playbook, Rule

DRY_RUN_VERSION = "dry-run"
Judge = Callable[[Decision, Rule], dict[str, Any]]
"""What the guard would say about a decision (the CLI wires the real guard on a scratch store)."""


def parse_events(raw: Any) -> list[Event]:
    """One sample event or a list of them (parsed YAML/JSON) as Events; the first problem is one line,
    e.g. `event.1.target: Field required`."""
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if not items:
        raise ValidationError("event: give one event or a non-empty list of events")
    events: list[Event] = []
    for i, item in enumerate(items):
        try:
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


def dry_run(rules: Sequence[Rule], events: Iterable[Event], playbooks: Mapping[str, Playbook] | None = None,
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
    try:
        for index, event in enumerate(events):
            count += 1
            clock_at[0] = event.observed_at
            for decision in detector.process(event):
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
