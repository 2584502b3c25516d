"""A small GitPython wrapper for the rules repository: fetch one branch into a local clone under the data
dir, check out a commit, tell who made it. Failures become TransientError (retry with backoff: network,
timeouts, a remote that is not there right now) or PermanentError (credentials, missing branch).

No credential ever reaches a log line or an error message: a token travels in git's environment
(`GIT_CONFIG_*`, not the command line) and every message is scrubbed of it and of URL user info.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import git
from pydantic import SecretStr

from tagent.errors import PermanentError, TransientError

_PERMANENT = ("authentication failed", "could not read username", "could not read password", "permission denied",
              "repository not found", "couldn't find remote ref", "invalid refspec", "terminal prompts disabled",
              "returned error: 401", "returned error: 403", "returned error: 404")
_FATAL = re.compile(r"\b(?:fatal|error): (.+)$")
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str  # "Name <email>"
    committed_at: datetime
    summary: str


class GitClient:
    """One remote branch mirrored into `workdir` (created on first use)."""

    def __init__(self, url: str, workdir: Path, *, token: SecretStr | None = None, timeout: float = 60.0) -> None:
        self.url = url
        self.workdir = workdir
        self.timeout = timeout
        self._token = token
        self._env = {"GIT_TERMINAL_PROMPT": "0"}  # fail instead of asking for a password
        if token is not None:
            basic = base64.b64encode(f"x-access-token:{token.get_secret_value()}".encode()).decode()
            self._env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                              "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"})
        self._repo: git.Repo | None = None

    @property
    def safe_url(self) -> str:
        return self._scrub(self.url)

    def _scrub(self, text: str) -> str:
        text = _URL_USERINFO.sub("***@", text)
        if self._token is not None and self._token.get_secret_value():
            text = text.replace(self._token.get_secret_value(), "***")
        return text

    def _open(self) -> git.Repo:
        if self._repo is None:
            try:
                self._repo = git.Repo(self.workdir)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                self.workdir.mkdir(parents=True, exist_ok=True)
                self._repo = git.Repo.init(self.workdir)
            except OSError as exc:
                raise PermanentError(f"cannot use {self.workdir} for the rules clone: {exc}") from exc
            self._repo.git.update_environment(**self._env)
        return self._repo

    def _error(self, what: str, exc: git.GitCommandError) -> TransientError | PermanentError:
        detail = str(exc.stderr or exc).strip().strip("'\"").strip()
        lines = [ln.strip() for ln in detail.splitlines() if ln.strip()]
        fatal = [m.group(1).strip(" '\"") for ln in lines if (m := _FATAL.search(ln))]
        reason = self._scrub(fatal[0] if fatal else lines[-1] if lines else f"exit status {exc.status}")
        message = f"git {what} {self.safe_url} failed: {reason}"
        if any(marker in detail.lower() for marker in _PERMANENT):
            return PermanentError(message)
        return TransientError(message)

    def fetch(self, branch: str) -> Commit:
        """Fetch `branch` from the remote; the commit at its tip."""
        repo = self._open()
        ref = f"refs/remotes/origin/{branch}"
        try:
            repo.git.fetch("--prune", "--no-tags", self.url, f"+refs/heads/{branch}:{ref}",
                           kill_after_timeout=self.timeout)
        except git.GitCommandError as exc:
            raise self._error("fetch", exc) from exc
        return self.commit(ref)

    def commit(self, rev: str) -> Commit:
        """A commit of the local clone by SHA or ref; PermanentError when it is not there."""
        try:
            c = self._open().commit(rev)
            # GitPython reads the object lazily: a missing SHA fails here, not in commit()
            return Commit(sha=c.hexsha, author=f"{c.author.name} <{c.author.email}>",
                          committed_at=c.committed_datetime, summary=str(c.summary))
        except (git.BadName, ValueError, git.GitCommandError) as exc:
            raise PermanentError(f"commit {rev} not found in the rules clone of {self.safe_url}") from exc

    def has(self, sha: str) -> bool:
        try:
            self.commit(sha)
        except PermanentError:
            return False
        return True

    def checkout(self, sha: str) -> Path:
        """Make the working tree exactly `sha` (detached; local changes discarded). Returns the tree's root."""
        repo = self._open()
        try:
            repo.git.checkout("--force", "--detach", sha, kill_after_timeout=self.timeout)
            repo.git.clean("-ffdx", kill_after_timeout=self.timeout)
        except git.GitCommandError as exc:
            raise PermanentError(f"cannot check out {sha[:12]} of {self.safe_url}: "
                                 f"{self._scrub(str(exc.stderr).strip())}") from exc
        return self.workdir
