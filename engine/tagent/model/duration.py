"""Durations as written in YAML: `30s`, `5m`, `1h`, `2d` (and combinations such as `1h30m`)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|s|m|h|d))+$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds in a duration string; raises ValueError with a readable message."""
    if isinstance(value, bool):
        raise ValueError("a duration is a string such as 30s, 5m, 1h or 2d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str) or not _WHOLE.match(value.strip()):
        raise ValueError(f"invalid duration {value!r}: use a number and a unit, e.g. 30s, 5m, 1h, 2d")
    return sum(int(n) * _UNIT[u] for n, u in _PART.findall(value.strip()))


def format_duration(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
"""Seconds, parsed from a duration string; serialised back to the shortest string."""
