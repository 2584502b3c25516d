"""Real Git repositories for GitOps tests: a bare remote and a working clone that pushes as someone."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tests.policy.paths import REPO


def git(*args: str, cwd: Path, author: str = "Alice <alice@example.com>") -> str:
    name, email = author[: author.index(" <")], author[author.index("<") + 1 : -1]
    env = {**os.environ, "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
           "GIT_COMMITTER_EMAIL": email, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class RulesRepo:
    """`remote` is a bare repository (its path ends in .git); `work` a clone that commits and pushes."""

    remote: Path
    work: Path

    @classmethod
    def create(cls, root: Path, subdir: str = "") -> RulesRepo:
        remote, work = root / "remote.git", root / "work"
        git("init", "--quiet", "--bare", "-b", "main", str(remote), cwd=root)
        git("init", "--quiet", "-b", "main", str(work), cwd=root)
        git("remote", "add", "origin", str(remote), cwd=work)
        base = work / subdir if subdir else work
        for part in ("rules", "playbooks"):
            shutil.copytree(REPO / part, base / part)
        (work / "README.md").write_text("rules for tests\n")
        return cls(remote, work)

    def push(self, message: str, author: str = "Alice <alice@example.com>") -> str:
        git("add", "-A", cwd=self.work, author=author)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work, author=author)
        git("push", "--quiet", "origin", "HEAD:main", cwd=self.work, author=author)
        return git("rev-parse", "HEAD", cwd=self.work)


@dataclass
class MemoryRecorder:
    """In-memory VersionRecorder (the store implements the real one)."""

    activations: list[tuple[str, str, datetime]] = field(default_factory=list)
    rejections: list[tuple[str, str, Sequence[str], datetime]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def record_activation(self, version: str, author: str, at: datetime) -> None:
        self.activations.append((version, author, at))

    def record_rejection(self, version: str, author: str, problems: Sequence[str], at: datetime,
                         message: str = "") -> None:
        self.rejections.append((version, author, list(problems), at))
        self.messages.append(message)

    def last_activated(self) -> str | None:
        return self.activations[-1][0] if self.activations else None
