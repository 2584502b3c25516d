"""Signed-commit verification for rule changes (optional): only a signed tip of the watched branch activates.

With `rules_require_signed`, the commit at the tip of the watched branch must carry a signature that
`git verify-commit` accepts: an SSH signature by a key in the allowed-signers file
(`gpg.ssh.allowedSignersFile`), or a GPG signature by a key in the given GnuPG home (its keyring is the
set of trusted keys). The tip's signer vouches for the whole tree it points at: a merge signed by the
approver accepts the drafted commits it brings in, which is what PR-based approval means. A commit that
fails is rejected like an invalid one (recorded with the reason, never activated).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tagent.errors import ConfigError
from tagent.settings import Settings

_STATUS = {
    "N": "is not signed",
    "B": "has a bad signature",
    "U": "is signed by a key that is not trusted",
    "X": "has an expired signature",
    "Y": "is signed by an expired key",
    "R": "is signed by a revoked key",
    "E": "has a signature that cannot be checked (unknown key)",
}


class SignaturePolicy:
    """`problems(repo, sha)`: why the commit may not activate; empty when its signature is accepted."""

    def __init__(self, *, allowed_signers: Path | None = None, gpg_home: Path | None = None,
                 git: str = "git", timeout: float = 30.0) -> None:
        if allowed_signers is None and gpg_home is None:
            raise ConfigError("rules_require_signed needs rules_allowed_signers (SSH) or rules_gpg_home (GPG)")
        if allowed_signers is not None and not allowed_signers.is_file():
            raise ConfigError(f"rules_allowed_signers: {allowed_signers} is not a file")
        if gpg_home is not None and not gpg_home.is_dir():
            raise ConfigError(f"rules_gpg_home: {gpg_home} is not a directory")
        self.allowed_signers = allowed_signers.resolve() if allowed_signers else None
        self.gpg_home = gpg_home.resolve() if gpg_home else None
        self.git, self.timeout = git, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SignaturePolicy | None:
        """None unless `rules_require_signed` is set."""
        if not settings.rules_require_signed:
            return None
        return cls(allowed_signers=settings.rules_allowed_signers, gpg_home=settings.rules_gpg_home)

    def _run(self, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
        config = ["-c", f"gpg.ssh.allowedSignersFile={self.allowed_signers}"] if self.allowed_signers else []
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        if self.gpg_home is not None:
            env["GNUPGHOME"] = str(self.gpg_home)
        return subprocess.run([self.git, *config, *args], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=self.timeout, check=False)

    def problems(self, repo: Path, sha: str) -> list[str]:
        try:
            verified = self._run(repo, "verify-commit", sha)
            if verified.returncode == 0:
                return []
            shown = self._run(repo, "log", "-1", "--format=%G?%x00%GS%x00%GK", sha)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"{sha[:12]}: cannot verify the commit signature: {exc}"]
        status, signer, key = [*shown.stdout.strip().split("\0"), "", "", ""][:3]
        why = _STATUS.get(status, "has a signature git does not accept")
        who = f" (signer {signer or '?'}, key {key})" if key else ""
        return [f"{sha[:12]}: commit {why}{who}; rules_require_signed accepts only commits signed by a trusted key"]
