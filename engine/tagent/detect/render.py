"""A rule's `then.params`, rendered with sandboxed Jinja over `event`, `target` and `rule`.

Templates are compiled once per rules version. A value that is exactly one expression (`"{{ x }}"`)
keeps the expression's type (an int stays an int for `replicas`); anything else renders to a string.
An undefined name is an error (StrictUndefined), and every error becomes a `RenderError` with one clear
sentence: the Detector turns it into a decision that only notifies, never a crash and never a playbook
run with half-rendered parameters.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from tagent.model.core import Event
from tagent.model.policy import Rule

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.DOTALL)
_RENDER_ERRORS = (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError)


class RenderError(Exception):
    """A parameter template could not be compiled or rendered; `str()` is one sentence for people."""


Compiled = Callable[[Mapping[str, Any]], Any]


def _compile_value(path: str, value: Any) -> Compiled:
    if isinstance(value, dict):
        parts = {k: _compile_value(f"{path}.{k}", v) for k, v in value.items()}
        return lambda ctx: {k: fn(ctx) for k, fn in parts.items()}
    if isinstance(value, list):
        items = [_compile_value(f"{path}[{i}]", v) for i, v in enumerate(value)]
        return lambda ctx: [fn(ctx) for fn in items]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return lambda ctx: value
    try:
        return _guard(path, _compile_text(value))
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{path}: template syntax error: {exc.message}") from exc


@functools.lru_cache(maxsize=4096)
def _compile_text(source: str) -> Compiled:
    """Compiled once per distinct text: a rules reload recompiles only the templates that changed (Jinja
    takes about 2 ms per template, the bulk of a swap otherwise)."""
    single = _SINGLE.match(source)
    if single is not None:
        expr = _ENV.compile_expression(single.group("expr"), undefined_to_none=False)
        return lambda ctx: _defined(expr(**ctx))
    template = _ENV.from_string(source)
    return lambda ctx: template.render(**ctx)


def _defined(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError with the missing name
    return value


def _guard(path: str, fn: Compiled) -> Compiled:
    def run(ctx: Mapping[str, Any]) -> Any:
        try:
            return fn(ctx)
        except _RENDER_ERRORS as exc:
            raise RenderError(f"{path}: {type(exc).__name__}: {exc}") from exc

    return run


class ParamsTemplate:
    """The compiled templates of a mapping (a rule's `then.params`, a step's `with`). A syntax error is kept
    and raised on every render. `where` prefixes error messages (`params`, `steps[0].with`)."""

    def __init__(self, params: Mapping[str, Any], where: str = "params") -> None:
        self._error: RenderError | None = None
        self._parts: dict[str, Compiled] = {}
        try:
            self._parts = {k: _compile_value(f"{where}.{k}", v) for k, v in params.items()}
        except RenderError as exc:
            self._error = exc

    def render(self, context: Mapping[str, Any]) -> dict[str, Any]:
        if self._error is not None:
            raise self._error
        return {k: fn(context) for k, fn in self._parts.items()}


def template_context(rule: Rule, event: Event, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What templates see. The models themselves, not dicts: `event.values.restarts` must find the field
    `values`, not the dict method of the same name. `params` only for playbook steps."""
    spec = rule.spec
    ctx: dict[str, Any] = {
        "event": event,
        "target": event.target,
        "rule": {"name": rule.name, "labels": dict(rule.metadata.labels), "severity": spec.severity.value,
                 "mode": spec.mode.value, "description": spec.description, "playbook": spec.then.playbook},
    }
    if params is not None:
        ctx["params"] = dict(params)
    return ctx
