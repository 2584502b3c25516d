"""A small Dockerfile reader for the image tests: instructions with their stage, continuation lines
joined, comments kept per instruction (hadolint-style checks need both)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # continuation lines joined with single spaces
    line: int  # 1-based line of the keyword
    comments: tuple[str, ...]  # the comment lines right above it

    def flags(self) -> dict[str, str]:
        """The --name=value options before the operands (COPY --from=..., --chown=...)."""
        out: dict[str, str] = {}
        for token in self.args.split():
            if not token.startswith("--"):
                break
            name, _, value = token[2:].partition("=")
            out[name] = value
        return out

    def operands(self) -> list[str]:
        """The words after the options (for COPY: the sources, then the destination)."""
        return [t for t in self.args.split() if not t.startswith("--")]

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form ENTRYPOINT/CMD, or None for the shell form."""
        try:
            value = json.loads(self.args)
        except ValueError:
            return None
        return value if isinstance(value, list) else None


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse(path: Path) -> list[Stage]:
    stages: list[Stage] = []
    comments: list[str] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            comments = [*comments, line.lstrip("# ")] if line else []
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if not pending:
            start = number
        pending.append(line.removesuffix("\\").strip())
        if line.endswith("\\"):
            continue
        keyword, _, args = " ".join(p for p in pending if p).partition(" ")
        instruction = Instruction(keyword.upper(), args.strip(), start, tuple(comments))
        pending, comments = [], []
        if instruction.keyword == "FROM":
            parts = instruction.args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        stages[-1].instructions.append(instruction)
    return stages
