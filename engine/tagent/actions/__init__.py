"""tagent.actions: what playbook steps do. The catalog (names, parameters, mutates?, kubectl equivalents)
is data in `catalog`; the implementations register against it explicitly (see shared/design/STYLE.md)."""

from tagent.actions.catalog import CATALOG, Action, Param

__all__ = ["CATALOG", "Action", "Param"]
