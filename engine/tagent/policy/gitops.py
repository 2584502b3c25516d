"""The rules source: a directory or a Git branch, polled (or woken by a webhook), activated only when valid.

The engine always runs the last rule set that validated. A new version (a Git commit, or a new content
hash of a directory) is validated as a whole; only then does it replace the active one, in one reference
swap, so a reader never sees half of two versions. A bad version is recorded (version, author, every
`path:line: message`) and never activates. A remote that cannot be reached leaves the active version in
place and is retried with exponential backoff.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from tagent.clients.git import Commit, GitClient
from tagent.errors import ExternalError, TransientError
from tagent.model.core import utcnow
from tagent.policy.files import collect, content_hash, pack_paths
from tagent.policy.problems import Problem
from tagent.policy.ruleset import RuleSet
from tagent.policy.signatures import SignaturePolicy
from tagent.policy.sourcekind import is_git_url, slug
from tagent.policy.validate import Validation, check_paths
from tagent.settings import Settings

log = logging.getLogger(__name__)
MAX_LOGGED = 50  # problems named in the one log line of a rejection (all of them are recorded)


class VersionRecorder(Protocol):
    """Where activations and rejections are kept (the store implements it)."""

    def record_activation(self, version: str, author: str, at: datetime) -> None: ...

    def record_rejection(self, version: str, author: str, problems: Sequence[str], at: datetime,
                         message: str = "") -> None:
        """`message` sums the rejection up for people (count of problems, commit subject)."""
        ...

    def last_activated(self) -> str | None:
        """The version activated most recently (any run), so a restart after a bad push can fall back to it."""
        ...


@dataclass(frozen=True)
class RulesVersion:
    version: str  # Git SHA, or "sha256:..." of a directory's content
    author: str  # "Name <email>" for Git; "" for a directory
    activated_at: datetime


@dataclass(frozen=True)
class Active:
    ruleset: RuleSet
    version: RulesVersion


class PollStatus(StrEnum):
    activated = "activated"  # a new version validated and is now active
    unchanged = "unchanged"  # nothing new: the active version, or a head already rejected (and logged)
    rejected = "rejected"  # a new version has problems (recorded, logged once); the last good one stays active
    unreachable = "unreachable"  # could not fetch/read; the last good one stays active, retry with backoff


@dataclass(frozen=True)
class PollResult:
    status: PollStatus
    version: str = ""
    author: str = ""
    problems: tuple[str, ...] = ()  # every `path:line: message` of a rejected head (also when unchanged)
    error: str = ""
    retry_in: float = 0.0  # seconds until the next poll is due
    message: str = ""  # a rejection in one line: how many problems, and the commit's subject for Git


def rejection_message(problems: Sequence[str], subject: str = "") -> str:
    """`2 problems (commit: remove the rollback playbook)`: what a list of versions shows for a rejection."""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return f"{count} (commit: {subject})" if subject else count


class RulesSource:
    """`location` is a directory or a Git URL (http(s)://, ssh://, git@host:path, file://, or *.git);
    `path` is a sub-directory holding the rule set; `branch` applies to Git."""

    def __init__(self, location: str, *, data_dir: Path, recorder: VersionRecorder, branch: str = "main",
                 path: str = "", poll_interval: float = 30.0, retry_base: float = 2.0, max_backoff: float = 600.0,
                 git: GitClient | None = None, clock: Callable[[], datetime] = utcnow,
                 promtool: str | None = "promtool", signatures: SignaturePolicy | None = None) -> None:
        self.location = location
        self.branch = branch
        self.path = path.strip("/")
        self.poll_interval = poll_interval
        self.retry_base = retry_base
        self.max_backoff = max_backoff
        self._recorder = recorder
        self._clock = clock
        self._promtool = promtool
        self._git = git
        self._signatures = signatures  # Git only: a tip whose signature is refused is rejected
        if self._git is None and is_git_url(location):
            self._git = GitClient(location, data_dir / "rules-git" / slug(location))
        self._active: Active | None = None
        self._rejected: PollResult | None = None
        self._failures = 0
        self._due_at: datetime | None = None  # None: due now
        self._triggered = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self.last_result: PollResult | None = None

    @classmethod
    def from_settings(cls, settings: Settings, recorder: VersionRecorder) -> RulesSource:
        git = None
        if is_git_url(settings.rules):
            git = GitClient(settings.rules, settings.data_dir / "rules-git" / slug(settings.rules),
                            token=settings.rules_git_token)
        return cls(settings.rules, data_dir=settings.data_dir, recorder=recorder, branch=settings.rules_branch,
                   path=settings.rules_path, poll_interval=settings.rules_poll_interval, git=git,
                   signatures=SignaturePolicy.from_settings(settings))

    @property
    def is_git(self) -> bool:
        return self._git is not None

    def current(self) -> Active | None:
        """The active rule set and its version, or None before anything validated. One reference read, so
        the pair is always consistent."""
        return self._active

    def webhook_trigger(self) -> None:
        """Make the next poll due now (a push webhook arrived) and wake `run`. A trigger that arrives
        during a poll is kept for the next one: that poll may have fetched just before the push."""
        self._triggered = True
        self._wake.set()

    def seconds_until_due(self) -> float:
        due = self._due_at
        if self._triggered or due is None:
            return 0.0
        return max(0.0, (due - self._clock()).total_seconds())

    def run(self, stop: threading.Event) -> None:
        """Poll whenever due until `stop` is set; a webhook trigger wakes it early."""
        while not stop.is_set():
            wait = self.seconds_until_due()
            if wait <= 0:
                self._wake.clear()
                try:
                    self.poll()
                except Exception:  # the store failed to record: logged in full (not hidden), retried later
                    log.exception("rules poll failed; the active version is unchanged")
                continue
            self._wake.wait(timeout=min(wait, 1.0))

    def poll(self) -> PollResult:
        """Fetch or read the newest version; validate; activate or reject. Never raises for bad rules or an
        unreachable remote (both are in the result); a failing recorder does raise, and nothing changes."""
        with self._lock:
            self._triggered = False
            try:
                result = self._poll_git() if self._git is not None else self._poll_dir()
            except Exception:
                self._schedule(ok=False)  # retried with backoff, like an unreachable remote
                raise
            self.last_result = result
            return result

    # -- internals ---------------------------------------------------------------------------------

    def _schedule(self, ok: bool) -> float:
        if ok:
            self._failures = 0
            delay = self.poll_interval
        else:
            self._failures += 1
            delay = min(self.retry_base * 2 ** (self._failures - 1), self.max_backoff)
        self._due_at = self._clock() + timedelta(seconds=delay)
        return delay

    def _unreachable(self, exc: Exception) -> PollResult:
        delay = self._schedule(ok=False)
        if isinstance(exc, TransientError):
            delay = max(delay, min(exc.delay, self.max_backoff))
            self._due_at = self._clock() + timedelta(seconds=delay)
        active = self._active.version.version if self._active else "none"
        log.warning("rules source unreachable (%s); keeping %s, retry in %.0fs", exc, active, delay)
        return PollResult(PollStatus.unreachable, error=str(exc), retry_in=delay)

    def _validate(self, root: Path) -> Validation:
        base = root / self.path if self.path else root
        if not base.is_dir():
            return Validation(None, (Problem(self.path, 1, "rules path is not a directory in this version"),), ())
        return check_paths(pack_paths(base), relative_to=root, promtool=self._promtool)

    def _poll_git(self) -> PollResult:
        assert self._git is not None
        try:
            head = self._git.fetch(self.branch)
        except ExternalError as exc:
            return self._unreachable(exc)
        delay = self._schedule(ok=True)
        if self._active is not None and self._active.version.version == head.sha:
            return PollResult(PollStatus.unchanged, head.sha, head.author, retry_in=delay)
        if self._rejected is not None and self._rejected.version == head.sha:
            return self._still_rejected(delay)
        try:
            root = self._git.checkout(head.sha)
            result = self._consider(head.sha, head.author, root, delay, self._refusals(root, head.sha),
                                    subject=head.summary)
        except ExternalError as exc:
            return self._unreachable(exc)
        if result.status is PollStatus.rejected and self._active is None:
            self._fall_back(head.sha)
        return result

    def _fall_back(self, rejected: str) -> None:
        """Nothing is active (a restart) and the head is bad: reactivate the last recorded good commit."""
        assert self._git is not None
        last = self._recorder.last_activated()
        if not last or last == rejected or not self._git.has(last):
            return
        try:
            commit: Commit = self._git.commit(last)
            root = self._git.checkout(last)
            validation = self._validate(root)
        except ExternalError as exc:
            log.warning("cannot fall back to %s: %s", last[:12], exc)
            return
        if validation.ruleset is not None and not self._refusals(root, last):
            self._activate(validation.ruleset, commit.sha, commit.author)

    def _poll_dir(self) -> PollResult:
        root = Path(self.location)
        if not root.is_dir():
            return self._unreachable(FileNotFoundError(f"rules directory {root} not found"))
        base = root / self.path if self.path else root
        version = content_hash(root, collect(pack_paths(base)) if base.is_dir() else [])
        delay = self._schedule(ok=True)
        if self._active is not None and self._active.version.version == version:
            return PollResult(PollStatus.unchanged, version, retry_in=delay)
        if self._rejected is not None and self._rejected.version == version:
            return self._still_rejected(delay)
        return self._consider(version, "", root, delay)

    def _refusals(self, root: Path, sha: str) -> list[str]:
        return self._signatures.problems(root, sha) if self._signatures is not None else []

    def _still_rejected(self, delay: float) -> PollResult:
        """The head rejected before: nothing new (recorded and logged once, when it was first seen)."""
        assert self._rejected is not None
        return replace(self._rejected, status=PollStatus.unchanged, retry_in=delay)

    def _consider(self, version: str, author: str, root: Path, delay: float,
                  refused: Sequence[str] = (), *, subject: str = "") -> PollResult:
        validation = self._validate(root)
        if validation.ruleset is None or refused:
            problems = (*refused, *(str(p) for p in validation.problems))
            message = rejection_message(problems, subject)
            self._recorder.record_rejection(version, author, problems, self._clock(), message=message)
            self._rejected = PollResult(PollStatus.rejected, version, author, problems, retry_in=delay,
                                        message=message)
            active = self._active.version.version if self._active else "none"
            shown = problems[:MAX_LOGGED] + ((f"and {len(problems) - MAX_LOGGED} more",)
                                             if len(problems) > MAX_LOGGED else ())
            log.warning("rules version %s by %s rejected, %s; %s stays active: %s", version[:12], author or "-",
                        message, active, "; ".join(shown))
            return self._rejected
        self._activate(validation.ruleset, version, author)
        return PollResult(PollStatus.activated, version, author, retry_in=delay)

    def _activate(self, ruleset: RuleSet, version: str, author: str) -> None:
        at = self._clock()
        self._recorder.record_activation(version, author, at)
        self._active = Active(ruleset, RulesVersion(version, author, at))
        log.info("rules version %s by %s active: %d rules, %d playbooks", version[:12], author or "-",
                 len(ruleset.rules), len(ruleset.playbooks))
