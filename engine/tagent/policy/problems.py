"""One validation problem, printed as `path:line: message` (the only error format of `tagent validate`)."""

from __future__ import annotations

from dataclasses import dataclass

Loc = tuple[str | int, ...]
"""A location inside a document: mapping keys and sequence indexes, e.g. ("spec", "steps", 0, "with")."""


def dotted(loc: Loc) -> str:
    """`spec.steps[0].with` from ("spec", "steps", 0, "with")."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        return {"path": self.path, "line": self.line, "message": self.message}
