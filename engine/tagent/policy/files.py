"""Which files make up a rule set, and a version for a plain directory (a hash of their content)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

SUFFIXES = (".yaml", ".yml")
PACK_DIRS = ("rules", "playbooks")


def yaml_files(path: Path) -> list[Path]:
    """`path` itself when it is a file; else every *.yaml/*.yml below it, sorted, hidden entries skipped."""
    if not path.is_dir():
        return [path]
    found = []
    for file in path.rglob("*"):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if file.suffix.lower() in SUFFIXES and file.is_file():
            found.append(file)
    return sorted(found)


def collect(paths: Iterable[Path]) -> list[Path]:
    """The YAML files of several files/directories, each once, in a stable order."""
    seen: dict[Path, None] = {}
    for path in paths:
        for file in yaml_files(path):
            seen.setdefault(file, None)
    return list(seen)


def pack_paths(root: Path) -> list[Path]:
    """The parts of a repository (or directory) that hold a rule set: its `rules/` and `playbooks/`
    directories when it has either (a repo root also holds charts and CI YAML), else the whole directory."""
    parts = [root / d for d in PACK_DIRS if (root / d).is_dir()]
    return parts or [root]


def content_hash(root: Path, files: Sequence[Path]) -> str:
    """A version for a directory source: sha256 over relative names and bytes (renames count too)."""
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        try:
            digest.update(file.read_bytes())
        except OSError as exc:
            digest.update(f"unreadable: {exc}".encode())
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest()[:16]
