"""The forge hosting the rules repository: where a drafted rule change is proposed, never applied.

Two parts. `RulesBranches` commits files on a new branch of a clone of the rules repository (GitPython)
and pushes that branch; it never touches the watched branch, so nothing becomes active until a person
merges. `ForgeClient` opens the pull request (GitHub: `POST /repos/{owner}/{repo}/pulls`) or merge
request (GitLab: `POST /projects/{id}/merge_requests`) through their documented REST APIs with httpx;
its transport is a parameter, so tests point the same code at a local server. Tokens travel only in
request headers and never appear in an error message.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import git
import httpx
from pydantic import SecretStr

from tagent.clients.git import Commit, GitClient
from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.settings import Settings

ForgeKind = Literal["github", "gitlab"]
DEFAULT_API = {"github": "https://api.github.com", "gitlab": "https://gitlab.com/api/v4"}
_AUTHOR = re.compile(r"^(?P<name>[^<>]+?)\s*<(?P<email>[^<>\s]+)>$")
_GITHUB_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class PullRequest:
    kind: ForgeKind
    number: int  # GitHub's number, GitLab's iid (the "!N")
    url: str  # the page a reviewer opens
    head: str
    base: str


class RulesBranches(GitClient):
    """A clone of the rules repository that can also commit on a new branch and push it."""

    def commit_files(self, base_sha: str, files: Sequence[Path], message: str, author: str) -> Commit:
        """A commit with `files` (already written under the work tree) on top of `base_sha`. HEAD does not
        move; the next `checkout` discards the work tree changes."""
        m = _AUTHOR.match(author.strip())
        if m is None:
            raise ConfigError(f"commit author {author!r} is not 'Name <email>'")
        actor = git.Actor(m["name"], m["email"])
        repo = self._open()
        try:
            repo.index.add([f.relative_to(self.workdir).as_posix() for f in files])
            made = repo.index.commit(message, parent_commits=[repo.commit(base_sha)], author=actor,
                                     committer=actor, head=False, skip_hooks=True)
        except (git.GitCommandError, ValueError, OSError) as exc:
            raise PermanentError(f"cannot commit the draft in the clone of {self.safe_url}: "
                                 f"{self._scrub(str(exc))}") from exc
        return self.commit(made.hexsha)

    def push_branch(self, sha: str, branch: str) -> None:
        """Create `branch` on the remote at `sha`. An existing branch is never overwritten."""
        try:
            self._open().git.push("--porcelain", self.url, f"{sha}:refs/heads/{branch}",
                                  kill_after_timeout=self.timeout)
        except git.GitCommandError as exc:
            error = self._error("push", exc)
            text = str(exc.stderr or exc).lower()
            if "rejected" in text or "already exists" in text:
                raise PermanentError(f"{error} (branch {branch} already exists)") from exc
            raise error from exc

    def has_branch(self, branch: str) -> bool:
        """Whether the remote has `branch` (ls-remote; no fetch)."""
        try:
            out = self._open().git.ls_remote("--heads", self.url, f"refs/heads/{branch}",
                                             kill_after_timeout=self.timeout)
        except git.GitCommandError as exc:
            raise self._error("ls-remote", exc) from exc
        return bool(str(out).strip())


class ForgeClient:
    """Opens pull requests (GitHub) or merge requests (GitLab) for pushed branches."""

    def __init__(self, kind: ForgeKind, repo: str, token: SecretStr, *, base_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        if kind not in DEFAULT_API:
            raise ConfigError(f"forge_kind must be github or gitlab, not {kind!r}")
        if not repo.strip():
            raise ConfigError("forge_repo is empty: set it to owner/name (GitHub) or a project id/path (GitLab)")
        if kind == "github" and not _GITHUB_REPO.match(repo):
            raise ConfigError(f"forge_repo {repo!r} is not owner/name")
        if not token.get_secret_value():
            raise ConfigError("forge_token is empty")
        self.kind, self.repo, self._token = kind, repo.strip().strip("/"), token
        self.base_url = (base_url or DEFAULT_API[kind]).rstrip("/")
        auth = ({"Authorization": f"Bearer {token.get_secret_value()}", "Accept": "application/vnd.github+json",
                 "X-GitHub-Api-Version": "2022-11-28"} if kind == "github"
                else {"PRIVATE-TOKEN": token.get_secret_value(), "Accept": "application/json"})
        self._http = httpx.Client(base_url=self.base_url, headers={**auth, "User-Agent": "tagent"},
                                  transport=transport, timeout=timeout, follow_redirects=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> ForgeClient | None:
        """None without a forge token: then the pushed branch and a description file are the proposal."""
        if settings.forge_token is None:
            return None
        return cls(settings.forge_kind, settings.forge_repo, settings.forge_token, base_url=settings.forge_url,
                   transport=transport)

    def close(self) -> None:
        self._http.close()

    def open_pull_request(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        """Open the request to merge `head` into `base`. TransientError: retry later; PermanentError: the
        forge refused (bad token, unknown repository, a request for this branch already open ...)."""
        if self.kind == "github":
            path = f"/repos/{self.repo}/pulls"
            payload: dict[str, Any] = {"title": title, "head": head, "base": base, "body": body,
                                       "maintainer_can_modify": True}
        else:
            path = f"/projects/{urllib.parse.quote(self.repo, safe='')}/merge_requests"
            payload = {"source_branch": head, "target_branch": base, "title": title, "description": body,
                       "remove_source_branch": True}
        data = self._post(path, payload)
        number = data.get("number") if self.kind == "github" else data.get("iid")
        url = data.get("html_url") if self.kind == "github" else data.get("web_url")
        if not isinstance(number, int) or not isinstance(url, str):
            raise PermanentError(f"{self.kind} answered POST {path} without a request number and URL")
        return PullRequest(self.kind, number, url, head, base)

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        where = f"{self.kind} at {self.base_url}"
        try:
            response = self._http.post(path, json=payload)
        except httpx.TimeoutException as exc:
            raise TransientError(f"{where} did not answer in time: {type(exc).__name__}", delay=10.0) from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"{where} unreachable: {self._scrub(str(exc))}", delay=10.0) from exc
        if response.status_code in (200, 201):
            try:
                data = response.json()
            except ValueError as exc:
                raise PermanentError(f"{where} answered POST {path} with invalid JSON") from exc
            if not isinstance(data, dict):
                raise PermanentError(f"{where} answered POST {path} with JSON that is not an object")
            return data
        reason = self._scrub(_error_text(response))
        message = f"{where} refused POST {path}: HTTP {response.status_code}: {reason}"
        if response.status_code == 429 or response.status_code >= 500:
            retry = response.headers.get("retry-after", "")
            raise TransientError(message, delay=float(retry) if retry.isdigit() else 30.0)
        raise PermanentError(message)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token.get_secret_value(), "***")


def _error_text(response: httpx.Response) -> str:
    """The forge's own words: GitHub `message` + `errors[].message`, GitLab `message` (text, list or map)."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if not isinstance(data, dict):
        return str(data)[:200]
    parts: list[str] = []
    message = data.get("message", data.get("error", ""))
    if isinstance(message, list):
        parts += [str(m) for m in message]
    elif isinstance(message, dict):
        parts += [f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in message.items()]
    elif message:
        parts.append(str(message))
    for error in data.get("errors") or []:
        parts.append(str(error.get("message") or error.get("code") or error) if isinstance(error, dict) else str(error))
    return "; ".join(parts)[:300] or response.reason_phrase
