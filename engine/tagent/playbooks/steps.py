"""A step's parameters, rendered; and the journal as the place a step's plan survives a crash.

Rendering reuses tagent.detect.render (the same sandboxed Jinja, the same typed single expressions) over
`event`, `target`, `rule`, `params`. A step's own `with` is rendered strictly: an undefined name fails the
step. The catalog's defaults are templates too (`{{ event.labels.pod }}`); one that cannot be rendered for
this run is left out, and the action applies its own fallback (or reports the parameter as required).
"""

from __future__ import annotations

from typing import Any

from tagent.actions import CATALOG
from tagent.detect.render import ParamsTemplate, RenderError
from tagent.model import StepResult, StepStatus
from tagent.model.policy import Step
from tagent.store import Fence, Store


def render_step(step: Step, where: str, context: dict[str, Any]) -> dict[str, Any]:
    """Rendered parameters of one step; raises RenderError when its `with` cannot be rendered."""
    rendered = ParamsTemplate(step.with_, where=f"{where}.with").render(context)
    spec = CATALOG.get(step.action)
    if spec is None:
        raise RenderError(f"{where}: unknown action {step.action!r}")
    for p in spec.params:
        if p.name in rendered or p.default is None:
            continue
        try:
            rendered[p.name] = ParamsTemplate({p.name: p.default}, where=f"{where}.default").render(context)[p.name]
        except RenderError:
            continue
    return rendered


class JournalPlans:
    """`PlanBook` over the step journal: the plan of step `index` is the finish row of the same index in the
    section `<section>.plan`, written before the step mutates anything (first plan wins)."""

    def __init__(self, store: Store, run_id: str, section: str, index: int, *, at: Any,
                 fence: Fence | None = None) -> None:
        self._store, self._run_id, self._index, self._at, self._fence = store, run_id, index, at, fence
        self._section = f"{section}.plan"

    def recall(self) -> dict[str, Any] | None:
        done = self._store.runs.finished_steps(self._run_id, self._section).get(self._index)
        plan = done.data.get("plan") if done is not None else None
        return dict(plan) if isinstance(plan, dict) else None

    def record(self, plan: dict[str, Any]) -> None:
        claim = self._store.runs.start_step(self._run_id, self._index, action="plan", at=self._at(),
                                            section=self._section, fence=self._fence)
        if not claim.finished:
            self._store.runs.finish_step(self._run_id, self._index,
                                         StepResult(status=StepStatus.ok, detail="plan", data={"plan": plan}),
                                         section=self._section, fence=self._fence)
