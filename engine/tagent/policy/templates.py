"""Jinja templates in rules and playbooks: compiled in a sandbox, allowed to see only the run's context.

A template that refers to anything but `event`, `target`, `rule` and `params` would fail (or, worse,
render empty) in the middle of a remediation at 3 a.m.; validation catches it at push time instead. So
does a template that reaches for a private or dunder attribute (`.__class__`, `['_x']`, `|attr('_x')`):
the sandbox refuses it at render time, the classic way out of a template sandbox.
"""

from __future__ import annotations

from collections.abc import Collection, Set

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

CONTEXT = ("event", "target", "rule", "params")
"""Names a playbook step's templates may use."""
RULE_CONTEXT = ("event", "target", "rule")
"""Names a rule's `then.params` may use: they compute `params`, so they cannot read it."""


def environment() -> SandboxedEnvironment:
    """The one template environment: sandboxed, and an undefined name is an error, not an empty string."""
    return SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


_ENV = environment()


def check_template(source: str, allowed: Collection[str] = CONTEXT,
                   params: Set[str] | None = None) -> str | None:
    """None when the template compiles and uses only `allowed` names (and, when `params` is given, only
    declared `params.<name>`); else one short reason."""
    try:
        tree = _ENV.parse(source)
        _ENV.compile(tree)
    except jinja2.TemplateSyntaxError as exc:
        return f"template syntax error: {exc.message}"
    private = _private_refs(tree)
    if private:
        return f"template reaches for {private!r}: names starting with _ are not available to templates"
    unknown = sorted(meta.find_undeclared_variables(tree) - set(allowed))
    if unknown:
        return (f"template uses {', '.join(unknown)}; only {', '.join(allowed)} are available")
    if params is not None:
        for name in _param_refs(tree):
            if name not in params:
                known = ", ".join(sorted(params)) or "none declared"
                return f"template uses params.{name}, not a parameter of this playbook ({known})"
    return None


_BY_NAME = {"attr": 0, "selectattr": 0, "rejectattr": 0}  # filter -> position of its attribute-name argument
_ATTRIBUTE_KW = {"map", "groupby", "sort", "sum", "unique", "min", "max", "selectattr", "rejectattr"}


def _private_refs(tree: nodes.Template) -> str | None:
    """The first attribute or key starting with `_` the template reads: `x._y`, `x['_y']`, `x|attr('_y')`,
    `xs|map(attribute='a._y')`, `xs|selectattr('_y')`."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        names: list[object] = []
        if isinstance(node, nodes.Getattr):
            names.append(node.attr)
        elif isinstance(node, nodes.Getitem):
            names.append(node.arg.value if isinstance(node.arg, nodes.Const) else None)
        else:
            assert isinstance(node, nodes.Filter)
            at = _BY_NAME.get(node.name)
            if at is not None and len(node.args) > at and isinstance(node.args[at], nodes.Const):
                names.append(node.args[at].value)  # type: ignore[attr-defined]
            if node.name in _ATTRIBUTE_KW:
                names += [kw.value.value for kw in node.kwargs
                          if kw.key == "attribute" and isinstance(kw.value, nodes.Const)]
        for name in names:
            if isinstance(name, str) and any(part.startswith("_") for part in name.split(".")):
                return name
    return None


def _param_refs(tree: nodes.Template) -> list[str]:
    """Names read as `params.x` or `params['x']`."""
    found: list[str] = []
    for node in tree.find_all(nodes.Getattr):
        assert isinstance(node, nodes.Getattr)
        if isinstance(node.node, nodes.Name) and node.node.name == "params":
            found.append(node.attr)
    for item in tree.find_all(nodes.Getitem):
        assert isinstance(item, nodes.Getitem)
        if (isinstance(item.node, nodes.Name) and item.node.name == "params" and isinstance(item.arg, nodes.Const)
                and isinstance(item.arg.value, str)):
            found.append(item.arg.value)
    return found
