"""Is a rules location a Git URL or a directory, and a file-system-safe name for its local clone."""

from __future__ import annotations

import hashlib
import re

_SCHEMES = ("http://", "https://", "ssh://", "git://", "file://")
_SCP = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo.git


def is_git_url(location: str) -> bool:
    """A URL with a Git transport, an scp-like `user@host:path`, or a path ending in `.git` (a bare repo).
    Anything else is a plain directory."""
    return location.startswith(_SCHEMES) or bool(_SCP.match(location)) or location.rstrip("/").endswith(".git")


def slug(location: str) -> str:
    """A stable directory name for a location (no credentials or odd characters in paths)."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", location.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))[:40]
    return f"{tail or 'rules'}-{hashlib.sha256(location.encode()).hexdigest()[:10]}"
