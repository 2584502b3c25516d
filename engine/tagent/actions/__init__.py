"""tagent.actions: what playbook steps do. The catalog (names, parameters, mutates?, kubectl equivalents)
is data in `catalog`; the implementations are registered explicitly by `build_registry` (STYLE.md).

    registry = build_registry(ActionDeps(store=..., guard=..., kube=..., notifier=..., caller=...))
    result: StepResult = registry[name].run(params, ActionContext(origin=decision, target=ref, ...))

`BaseAction.run` validates, asks the guard, times, audits and maps errors for every action (see `base`).

The names below load on first use (PEP 562): importing `tagent.actions.catalog` (as `tagent validate`
does) must not drag in the implementations and with them the store, SQLAlchemy, the Kubernetes client
and the notifiers, which cost seconds of CLI start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tagent.actions.base import ActionContext, ActionDeps, BaseAction, GuardPort, PlanBook, VerdictView
    from tagent.actions.catalog import CATALOG, Action, Param
    from tagent.actions.params import validate_params
    from tagent.actions.registry import IMPLEMENTATIONS, Registry, build_registry

_HOME = {
    "ActionContext": "base", "ActionDeps": "base", "BaseAction": "base", "GuardPort": "base",
    "PlanBook": "base", "VerdictView": "base",
    "CATALOG": "catalog", "Action": "catalog", "Param": "catalog",
    "validate_params": "params",
    "IMPLEMENTATIONS": "registry", "Registry": "registry", "build_registry": "registry",
}

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


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
