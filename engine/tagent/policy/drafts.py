"""Drafted playbooks become proposals: a validated branch of the rules repository, and a pull request.

The LLM writes YAML text (tagent.llm.draft); this module decides what becomes of it. Every attempt is
written into a clone of the rules repository at the tip of the watched branch and validated there with
the real validator, as one set with every active rule (the same check as `tagent validate` and GitOps
activation: schema, unique names, references, the closed action catalog). A draft that still fails after
one retry is reported and never committed. A valid one is committed on a new branch
`tagent/draft-<incident>-<random>` and pushed; the watched branch is never touched, so the rule can only
take effect when a person merges it (PR-based approval). With a forge token a pull/merge request is
opened; without one, the pushed branch and a description file under the data dir are the proposal.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tagent.clients.forge import ForgeClient, PullRequest, RulesBranches
from tagent.errors import ConfigError, ExternalError, ValidationError
from tagent.llm.client import LLMClient
from tagent.llm.draft import PlaybookDraft, draft_playbook
from tagent.llm.draft_prompt import DraftContext
from tagent.llm.explain import Evidence
from tagent.model.core import Incident
from tagent.policy import draft_text
from tagent.policy.files import pack_paths
from tagent.policy.loader import parse_text
from tagent.policy.sourcekind import is_git_url, slug
from tagent.policy.validate import Validation, check_paths
from tagent.settings import Settings

log = logging.getLogger(__name__)
DRAFT_AUTHOR = "Tagent <tagent@localhost>"
DRAFT_INPUT = "draft.yaml"  # the name problems of the model's raw text are reported under
DRAFT_KINDS = {"Rule": "rules", "Playbook": "playbooks"}


@dataclass(frozen=True)
class Proposal:
    incident_id: str
    status: Literal["proposed", "invalid"]
    base: str  # the watched branch
    base_sha: str
    branch: str | None = None  # pushed branch (proposed only)
    commit: str | None = None
    files: tuple[str, ...] = ()  # repository-relative paths of the drafted documents
    names: tuple[tuple[str, str], ...] = ()  # (kind, name)
    problems: tuple[str, ...] = ()  # why the draft is invalid (last attempt)
    attempts: int = 0
    title: str = ""
    description: str = ""
    description_file: Path | None = None
    pull_request: PullRequest | None = None
    forge_error: str = ""  # the branch is pushed, but the pull request could not be opened
    yaml_text: str = ""
    model: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["description_file"] = str(self.description_file) if self.description_file else None
        return data


@dataclass
class _Tree:
    """The clone's work tree for one draft: where files go, and what the last attempt wrote."""

    root: Path
    base: Path
    in_use: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> "path:line" on base
    written: list[Path] = field(default_factory=list)
    names: list[tuple[str, str]] = field(default_factory=list)


class DraftProposer:
    """Draft → validate (with the active set) → branch + push → pull request. One draft at a time."""

    def __init__(self, client: LLMClient, branches: RulesBranches, *, data_dir: Path, base_branch: str = "main",
                 path: str = "", forge: ForgeClient | None = None, author: str = DRAFT_AUTHOR,
                 promtool: str | None = "promtool", redact: Callable[[str], str] | None = None) -> None:
        self.client, self.branches, self.forge = client, branches, forge
        self.base_branch, self.path = base_branch, path.strip("/")
        self.data_dir, self.author, self.promtool = data_dir, author, promtool
        self.redact = redact or client.redactor
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, client: LLMClient, *, rules_repo: str | None = None,
                      forge: ForgeClient | None = None, **options: Any) -> DraftProposer:
        """`rules_repo`: a Git URL or the path of a Git repository (default: `settings.rules`)."""
        location = rules_repo or settings.rules
        if not is_git_url(location):
            local = Path(location).expanduser()
            if not (local / ".git").exists() and not (local / "HEAD").is_file():
                raise ConfigError(f"{location} is not a Git repository: drafts are proposed as branches of the "
                                  "rules repository (give its URL or path with --rules-repo or TAGENT_RULES)")
            location = str(local.resolve())
        branches = RulesBranches(location, settings.data_dir / "drafts-git" / slug(location),
                                 token=settings.rules_git_token)
        return cls(client, branches, data_dir=settings.data_dir, base_branch=settings.rules_branch,
                   path=settings.rules_path, forge=forge or ForgeClient.from_settings(settings), **options)

    def propose(self, incident: Incident, evidence: Evidence | None = None) -> Proposal:
        """Draft a rule (+ playbook) for `incident` and propose it. Raises ValidationError when the watched
        branch itself does not validate, ExternalError when Git or the LLM fails; an invalid draft is a
        Proposal with status `invalid` (nothing pushed)."""
        evidence = evidence or Evidence.from_incident(incident)
        with self._lock:
            head = self.branches.fetch(self.base_branch)
            tree = self._tree(self.branches.checkout(head.sha))
            active = self._validate(tree)
            if active.ruleset is None:
                raise ValidationError(f"the {self.base_branch} branch of {self.branches.safe_url} does not validate "
                                      f"({len(active.problems)} problem(s), first: {active.problems[0]}); fix it "
                                      "before drafting", [str(p) for p in active.problems])
            tree.in_use = active.ruleset.origins
            context = DraftContext(catalog=draft_text.catalog_text(), rules=list(active.ruleset.rules),
                                   playbooks=list(active.ruleset.playbooks),
                                   example=draft_text.example_text(active.ruleset, tree.root))

            def check(text: str) -> list[str]:
                self.branches.checkout(head.sha)  # each attempt starts from the watched branch
                return self._write_and_validate(tree, text)

            draft = draft_playbook(incident, evidence, self.client, context, check)
            try:
                if not draft.ok:
                    log.warning("draft for incident %s is invalid after %d attempt(s): %s", incident.id,
                                len(draft.attempts), draft.problems[0])
                    return Proposal(incident.id, "invalid", self.base_branch, head.sha, problems=draft.problems,
                                    attempts=len(draft.attempts), title=draft.title, yaml_text=draft.yaml_text,
                                    model=draft.model)
                return self._publish(draft, incident, tree, head.sha)
            finally:
                self.branches.checkout(head.sha)

    # -- internals ---------------------------------------------------------------------------------

    def _tree(self, root: Path) -> _Tree:
        return _Tree(root, root / self.path if self.path else root)

    def _validate(self, tree: _Tree) -> Validation:
        if not tree.base.is_dir():
            raise ConfigError(f"rules path {self.path!r} is not a directory on {self.base_branch}")
        return check_paths(pack_paths(tree.base), relative_to=tree.root, promtool=self.promtool)

    def _write_and_validate(self, tree: _Tree, text: str) -> list[str]:
        """Write the draft's documents as files of the work tree; the problems of the whole set."""
        tree.written, tree.names = [], []
        docs, problems = parse_text(text, DRAFT_INPUT)
        if problems:
            return [str(p) for p in problems]
        kinds = [d.data.get("kind") if isinstance(d.data, dict) else None for d in docs]
        if kinds.count("Rule") != 1 or kinds.count("Playbook") > 1 or len(kinds) != kinds.count("Rule") + \
                kinds.count("Playbook"):
            line = docs[0].line if docs else 1
            return [f"{DRAFT_INPUT}:{line}: a draft holds exactly one Rule and at most one Playbook, got "
                    f"{', '.join(str(k) for k in kinds) or 'no document'}"]
        clashes = []
        for doc in docs:
            kind = str(doc.data["kind"])
            meta = doc.data.get("metadata")
            name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
            path = self._write(tree, kind, name, doc.data)
            tree.written.append(path)
            tree.names.append((kind, name))
            if (kind, name) in tree.in_use:  # a draft adds documents; it never replaces one
                written, _ = parse_text(path.read_text(encoding="utf-8"), "")
                line = written[0].line_of(("metadata", "name")) if written else 1
                clashes.append(f"{path.relative_to(tree.root).as_posix()}:{line}: metadata.name: {kind} "
                               f"{name!r} already exists on {self.base_branch} at {tree.in_use[(kind, name)]}; "
                               "a draft must use a new name")
        return clashes + [str(p) for p in self._validate(tree).problems]

    def _write(self, tree: _Tree, kind: str, name: str, data: Any) -> Path:
        """A new file named after the document (an existing file is never replaced: a clash of names is
        then reported by the unique-names check, not hidden by an overwrite)."""
        packed = any((tree.base / d).is_dir() for d in DRAFT_KINDS.values())
        folder = tree.base / DRAFT_KINDS[kind] if packed else tree.base
        folder.mkdir(parents=True, exist_ok=True)
        stem = draft_text.safe_ref_part(name or f"draft-{kind}", 60)
        target = folder / f"{stem}.yaml"
        while target.exists():
            target = folder / f"{stem}-draft-{secrets.token_hex(2)}.yaml"
        header = "# Drafted by Tagent (LLM); review before merging.\n"
        target.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return target

    def _publish(self, draft: PlaybookDraft, incident: Incident, tree: _Tree, base_sha: str) -> Proposal:
        branch = f"tagent/draft-{draft_text.safe_ref_part(incident.id)}-{secrets.token_hex(3)}"
        files = tuple(f.relative_to(tree.root).as_posix() for f in tree.written)
        body = draft_text.description(draft, incident, base=self.base_branch, base_sha=base_sha, files=files,
                                      names=tree.names, redact=self.redact)
        title = self.redact(draft.title)
        commit = self.branches.commit_files(base_sha, tree.written, f"{title}\n\n{body}", self.author)
        self.branches.push_branch(commit.sha, branch)
        log.info("drafted %s for incident %s pushed as branch %s (%s)", files, incident.id, branch, commit.sha[:12])
        described = self.data_dir / "drafts" / f"{branch.replace('/', '_')}.md"
        described.parent.mkdir(parents=True, exist_ok=True)
        described.write_text(f"# {title}\n\nBranch `{branch}` → `{self.base_branch}`\n\n{body}", encoding="utf-8")
        pull, error = None, ""
        if self.forge is not None:
            try:
                pull = self.forge.open_pull_request(head=branch, base=self.base_branch, title=title, body=body)
            except ExternalError as exc:  # the branch stands as the proposal; the failure is reported
                error = str(exc)
                log.warning("branch %s pushed but no pull request opened: %s", branch, exc)
        return Proposal(incident.id, "proposed", self.base_branch, base_sha, branch=branch, commit=commit.sha,
                        files=files, names=tuple(tree.names), attempts=len(draft.attempts), title=title,
                        description=body, description_file=described, pull_request=pull, forge_error=error,
                        yaml_text=draft.yaml_text, model=draft.model)

