"""tagent.actions: what playbook steps do. The catalog (names, parameters, mutates?, kubectl equivalents)
is data in `catalog`; the implementations are registered explicitly by `build_registry` (STYLE.md).

    registry = build_registry(ActionDeps(store=..., guard=..., kube=..., notifier=..., caller=...))
    result: StepResult = registry[name].run(params, ActionContext(origin=decision, target=ref, ...))

`BaseAction.run` validates, asks the guard, times, audits and maps errors for every action (see `base`).
"""

from tagent.actions.base import ActionContext, ActionDeps, BaseAction, GuardPort, PlanBook, VerdictView
from tagent.actions.catalog import CATALOG, Action, Param
from tagent.actions.params import validate_params
from tagent.actions.registry import IMPLEMENTATIONS, Registry, build_registry

__all__ = [
    "CATALOG",
    "IMPLEMENTATIONS",
    "Action",
    "ActionContext",
    "ActionDeps",
    "BaseAction",
    "GuardPort",
    "Param",
    "PlanBook",
    "Registry",
    "VerdictView",
    "build_registry",
    "validate_params",
]
