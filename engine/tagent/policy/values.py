"""Checks of one literal value against a declared type and range (catalog parameters, playbook params).

A templated string (`{{ ... }}`) is accepted for any type: it is rendered, and coerced, when the step runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tagent.model.duration import parse_duration


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _type_error(value: Any, type_: str) -> str | None:
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "mapping": isinstance(value, dict),
        "list": isinstance(value, list),
    }
    if type_ == "duration":
        try:
            parse_duration(value)
        except ValueError as exc:
            return str(exc)
        return None
    if ok.get(type_, True):
        return None
    hint = " (quote it)" if type_ == "string" and value is not None else ""
    return f"expected {'an' if type_[0] in 'ai' else 'a'} {type_}, got {value!r}{hint}"


def check_value(value: Any, type_: str, *, minimum: float | None = None, maximum: float | None = None,
                choices: Sequence[Any] | None = None) -> str | None:
    """None when `value` fits, else a short reason."""
    if is_template(value):
        return None
    error = _type_error(value, type_)
    if error is not None:
        return error
    if type_ in ("integer", "number"):
        if minimum is not None and value < minimum:
            return f"{value!r} is below the minimum {minimum:g}"
        if maximum is not None and value > maximum:
            return f"{value!r} is above the maximum {maximum:g}"
    if choices and value not in choices:
        return f"{value!r} is not one of {', '.join(repr(c) for c in choices)}"
    return None


def templates_in(value: Any, loc: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    """Every string inside a value (nested mappings and lists), with its location, that is a template."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in templates_in(v, (*loc, k))]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in templates_in(v, (*loc, i))]
    return [(loc, value)] if is_template(value) else []
