"""Terraform-managed resources are changed by pull request, never behind Terraform's back.

    proposer = TerraformProposer(workdir, forge_kind="github", forge_token=..., forge_url=None)
    pr = proposer.propose(group, desired=4, target=TerraformTarget(...), reason="chat:alice")

The variable that holds the desired capacity is edited in place (a `.tfvars` assignment, or the `default`
of a `variable` block in a `.tf` file), the result is parsed with python-hcl2 and must hold exactly the new
value (and otherwise be the same document), then it is committed on a new branch, pushed, and opened as a
pull request through the same forge client as drafted rules (`tagent.clients.forge`). Merging is the
approval; Terraform applies it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import hcl2
import httpx
from lark.exceptions import LarkError
from pydantic import SecretStr

from tagent.clients.forge import ForgeClient, ForgeKind, PullRequest, RulesBranches
from tagent.cloud.base import ServerGroup
from tagent.cloud.settings import TerraformTarget
from tagent.errors import PermanentError, ValidationError
from tagent.model.core import utcnow
from tagent.settings import Settings

DEFAULT_AUTHOR = "Tagent <tagent@localhost>"


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        parsed = hcl2.loads(text)
    except (LarkError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{where} is not valid HCL: {first}") from exc
    if not isinstance(parsed, dict):
        raise ValidationError(f"{where} is not an HCL body")
    return parsed


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) >= 2 and name[0] == name[-1] == '"' else name


def read_variable(text: str, variable: str, where: str) -> Any:
    """The value of `variable` in a .tfvars body, or the default of `variable "<name>"` in a .tf body."""
    parsed = _parse(text, where)
    if variable in parsed:
        return parsed[variable]
    for block in parsed.get("variable", []):
        for name, body in block.items():
            if _unquote(name) == variable and isinstance(body, dict) and "default" in body:
                return body["default"]
    raise ValidationError(f"{where} assigns no variable {variable!r} (neither `{variable} = ...` nor a "
                          f"`variable \"{variable}\"` block with a default)")


def set_variable(text: str, variable: str, value: int, where: str) -> str:
    """`text` with `variable` set to `value`; every other line is kept byte for byte. The result is parsed
    back and must differ from the original in that value only."""
    before = _parse(text, where)
    old = read_variable(text, variable, where)
    if isinstance(old, bool) or not isinstance(old, int):
        raise ValidationError(f"{where}: {variable} is {old!r}, not a plain number; change it by hand")
    name = re.escape(variable)
    assignment = re.compile(rf"^(?P<lead>[ \t]*{name}[ \t]*=[ \t]*)(?P<value>[^\s#]+)", re.MULTILINE)
    block = re.compile(rf'^[ \t]*variable[ \t]+"{name}"[ \t]*\{{', re.MULTILINE)
    if (b := block.search(text)) is not None:
        default = re.compile(r"^(?P<lead>[ \t]*default[ \t]*=[ \t]*)(?P<value>[^\s#]+)", re.MULTILINE)
        m = default.search(text, b.end())
        end = text.find("\n}", b.end())
        if m is None or (end != -1 and m.start() > end):
            raise ValidationError(f"{where}: variable {variable!r} has no one-line `default = ...` to edit")
    else:
        m = assignment.search(text)
        if m is None:
            raise ValidationError(f"{where}: no one-line `{variable} = ...` to edit")
    edited = f"{text[:m.start('value')]}{value}{text[m.end('value'):]}"
    after = _parse(edited, where)
    if read_variable(edited, variable, where) != value:
        raise ValidationError(f"{where}: editing {variable!r} did not give {value} (not a plain number?)")
    if _without(after, variable) != _without(before, variable):
        raise ValidationError(f"{where}: editing {variable!r} changed more than that variable")
    return edited


def _without(parsed: dict[str, Any], variable: str) -> Any:
    out = {k: v for k, v in parsed.items() if k != variable}
    out["variable"] = [{n: {k: v for k, v in body.items() if not (_unquote(n) == variable and k == "default")}
                        for n, body in b.items()} for b in parsed.get("variable", [])]
    return out


@dataclass(frozen=True)
class Proposal:
    pull_request: PullRequest | None  # None when the file already holds the value
    branch: str
    file: str
    old: Any
    new: int


class TerraformProposer:
    """Opens pull requests on the Terraform repositories of the settings' mapping."""

    def __init__(self, workdir: Path, *, forge_kind: ForgeKind, forge_token: SecretStr,
                 forge_url: str | None = None, git_token: SecretStr | None = None, author: str = DEFAULT_AUTHOR,
                 transport: httpx.BaseTransport | None = None, clock: Any = utcnow) -> None:
        self.workdir, self.forge_kind, self.forge_token, self.forge_url = workdir, forge_kind, forge_token, forge_url
        self.git_token, self.author, self.transport, self.clock = git_token, author, transport, clock

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: httpx.BaseTransport | None = None
                      ) -> TerraformProposer | None:
        """The forge of drafted rules (kind, API URL, token) and the rules repository's Git token; None without a
        forge token (then Terraform-managed groups are refused with a clear reason)."""
        if settings.forge_token is None:
            return None
        return cls(settings.data_dir / "terraform-git", forge_kind=settings.forge_kind,
                   forge_token=settings.forge_token, forge_url=settings.forge_url, git_token=settings.rules_git_token,
                   transport=transport)

    def _clone(self, target: TerraformTarget) -> RulesBranches:
        slug = hashlib.sha1(target.repo_url.encode(), usedforsecurity=False).hexdigest()[:12]
        return RulesBranches(target.repo_url, self.workdir / f"terraform-{slug}", token=self.git_token)

    def propose(self, group: ServerGroup, *, desired: int, target: TerraformTarget, reason: str) -> Proposal:
        """Edit the variable on a new branch and open the pull request."""
        clone = self._clone(target)
        base = clone.fetch(target.branch)
        root = clone.checkout(base.sha)
        path = (root / target.file).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise PermanentError(f"{target.file} is not a file of {clone.safe_url} ({target.branch})")
        where = f"{target.file}@{target.branch}"
        text = path.read_text(encoding="utf-8")
        old = read_variable(text, target.variable, where)
        stamp = self.clock().strftime("%Y%m%d%H%M%S") if isinstance(self.clock(), datetime) else "now"
        branch = f"tagent/{group.name}-desired-{desired}-{stamp}"
        if old == desired:
            return Proposal(None, branch, target.file, old, desired)
        path.write_text(set_variable(text, target.variable, desired, where), encoding="utf-8")
        title = f"Set {group.name} desired capacity to {desired} (was {old})"
        commit = clone.commit_files(base.sha, [path], f"{title}\n\nRequested by {reason}.", self.author)
        clone.push_branch(commit.sha, branch)
        body = (f"Auto Scaling group `{group.name}` ({group.region}) is managed by Terraform, so Tagent does not "
                f"change it through the AWS API.\n\nThis sets `{target.variable}` in `{target.file}` from {old} to "
                f"{desired} (bounds {group.minimum}..{group.maximum}). Requested by {reason}.\n\n"
                "Merging this pull request is the approval; apply it with Terraform as usual.")
        forge = ForgeClient(self.forge_kind, target.forge_repo, self.forge_token, base_url=self.forge_url,
                            transport=self.transport)
        try:
            pr = forge.open_pull_request(head=branch, base=target.branch, title=title, body=body)
        finally:
            forge.close()
        return Proposal(pr, branch, target.file, old, desired)
