"""Parameter validation against the catalog: the one check every action's input passes before it runs.

Values arrive rendered (templates already evaluated by the playbook runner, or typed by chat/the API), so
they may be strings that look like numbers ("3" from `"{{ params.replicas }}"` inside a longer template):
integers, numbers and booleans are coerced from such strings, and everything else is checked exactly.
Unknown parameters are errors, like unknown YAML fields: a typo must not silently change what runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from tagent.actions.catalog import Action, Param
from tagent.errors import ValidationError
from tagent.model.duration import parse_duration

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _integer(p: Param, v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("+-").isdigit():
        return int(v.strip())
    raise ValueError(f"expected an integer, got {v!r}")


def _number(p: Param, v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a number, got a boolean")
    try:
        out = float(v) if isinstance(v, int | float | str) else math.nan
    except ValueError:
        out = math.nan
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number, got {v!r}")
    return out


def _boolean(p: Param, v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise ValueError(f"expected true or false, got {v!r}")


def _string(p: Param, v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v)
    raise ValueError(f"expected a string, got {type(v).__name__}")


def _duration(p: Param, v: Any) -> float:
    return parse_duration(v)


def _mapping(p: Param, v: Any) -> dict[str, str]:
    if not isinstance(v, Mapping):
        raise ValueError(f"expected a mapping, got {type(v).__name__}")
    return {str(k): str(x) for k, x in v.items()}


def _list(p: Param, v: Any) -> list[str]:
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, list | tuple):
        raise ValueError(f"expected a list, got {type(v).__name__}")
    return [str(x) for x in v]


_COERCE: dict[str, Callable[[Param, Any], Any]] = {
    "integer": _integer, "number": _number, "boolean": _boolean, "string": _string, "duration": _duration,
    "mapping": _mapping, "list": _list}


def _check(p: Param, value: Any) -> Any:
    out = _COERCE[p.type](p, value)
    if p.type in ("integer", "number", "duration"):
        if p.minimum is not None and out < p.minimum:
            raise ValueError(f"{out:g} is below the minimum {p.minimum:g}")
        if p.maximum is not None and out > p.maximum:
            raise ValueError(f"{out:g} is above the maximum {p.maximum:g}")
    if p.choices and out not in p.choices:
        raise ValueError(f"{out!r} is not one of {', '.join(p.choices)}")
    return out


def validate_params(action: Action, given: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for every parameter of `action` (None where absent and not required).

    Raises ValidationError listing every problem (`action.param: message`)."""
    problems: list[str] = []
    unknown = sorted(set(given) - {p.name for p in action.params})
    problems += [f"{action.name}: unknown parameter {name!r}" for name in unknown]
    values: dict[str, Any] = {}
    for p in action.params:
        raw = given.get(p.name, p.default)
        if raw is None or (isinstance(raw, str) and "{{" in raw and p.name not in given):
            raw = None  # an unrendered catalog default: the caller had no context for it
        if raw is None:
            if p.required:
                problems.append(f"{action.name}.{p.name}: required")
            values[p.name] = None
            continue
        try:
            values[p.name] = _check(p, raw)
        except ValueError as exc:
            problems.append(f"{action.name}.{p.name}: {exc}")
    for group in action.exactly_one:
        present = [n for n in group if given.get(n) is not None]
        if len(present) != 1:
            problems.append(f"{action.name}: give exactly one of {', '.join(group)}"
                            + (f" (got {', '.join(present)})" if present else ""))
    if problems:
        raise ValidationError(problems[0] if len(problems) == 1 else f"{problems[0]} (and {len(problems) - 1} more)",
                              problems)
    return values
