"""Kubernetes quantities (`250m`, `1.5`, `256Mi`, `1G`) to numbers and back."""

from __future__ import annotations

import functools
import re

_SUFFIX = {
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
    "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(n|u|m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")


def parse_quantity(text: str | int | float) -> float:
    """A quantity as a float (cores for CPU, bytes for memory); ValueError if malformed."""
    if isinstance(text, int | float):
        return float(text)
    return _parse(str(text))


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> float:
    m = _QUANTITY.match(str(text).strip())
    if not m:
        raise ValueError(f"invalid quantity {text!r}: use e.g. 250m, 1, 256Mi, 2Gi")
    return float(m.group(1)) * _SUFFIX[m.group(2) or ""]


def cpu_nanocores(cores: float) -> str:
    return f"{max(0, round(cores * 1e9))}n"


def memory_ki(bytes_: float) -> str:
    return f"{max(0, round(bytes_ / 1024))}Ki"


def cpu_millis(cores: float) -> str:
    return f"{max(0, round(cores * 1000))}m"


def memory_mi(bytes_: float) -> str:
    return f"{max(0, round(bytes_ / 2**20))}Mi"
