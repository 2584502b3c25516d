"""`tagent draft-playbook --incident ID`: the LLM drafts a Rule + Playbook, proposed as a branch (and PR).

Nothing becomes active here: the draft is validated with the active rule set, committed on a new branch
of the rules repository and pushed; with a forge token a pull/merge request is opened. It takes effect
only when a person merges it into the watched branch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import TagentError

if TYPE_CHECKING:  # the LLM client (openai), GitPython and the store load only when the command runs
    from tagent.policy.drafts import Proposal

HELP = """Draft a Rule + Playbook for an incident with the LLM and propose it as a branch of the rules
repository (and as a pull/merge request when TAGENT_FORGE_TOKEN is set). The draft must pass the same
validation as `tagent validate`, together with the rules on the watched branch; an invalid draft is retried
once with its problems, then reported and never pushed.

Exit codes: 0 proposed; 1 the draft is invalid, or an error; 2 bad usage."""


def _text(p: Proposal) -> str:
    if p.status == "invalid":
        lines = [f"draft for incident {p.incident_id} is invalid after {p.attempts} attempt(s); nothing pushed:"]
        return "\n".join(lines + [f"  {problem}" for problem in p.problems])
    lines = [f"proposed {', '.join(f'{k} {n}' for k, n in p.names)} for incident {p.incident_id}",
             f"  branch   {p.branch} (commit {str(p.commit)[:12]}, based on {p.base} at {p.base_sha[:12]})",
             *(f"  file     {f}" for f in p.files),
             f"  summary  {p.description_file}"]
    if p.pull_request is not None:
        lines.append(f"  {'pull' if p.pull_request.kind == 'github' else 'merge'} request "
                     f"#{p.pull_request.number}: {p.pull_request.url}")
    elif p.forge_error:
        lines.append(f"  no pull request: {p.forge_error}")
    else:
        lines.append(f"  no forge token: open a pull request from {p.branch} to {p.base} to approve it")
    return "\n".join(lines)


def draft_playbook(
    incident: str = typer.Option(..., "--incident", help="incident id (tagent incidents list)"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: SQLite in the data dir)"),
    rules_repo: str | None = typer.Option(None, "--rules-repo", help="rules Git URL or repository path "
                                          "(default: TAGENT_RULES)"),
    config: Path | None = typer.Option(None, "--config", help="settings YAML file (TAGENT_* env vars also apply)"),
    output: Output = OutputOpt,
) -> None:
    from tagent.llm.client import LLMClient
    from tagent.policy.drafts import DraftProposer
    from tagent.settings import load_settings
    from tagent.store import Store

    try:
        settings = load_settings(config, db_url=db)
        client = LLMClient.from_settings(settings)
        if client is None:
            fail("no LLM is configured: set TAGENT_LLM_BASE_URL (and TAGENT_LLM_API_KEY) to draft playbooks")
        with Store.from_settings(settings) as store:
            found = store.incidents.get(incident)
        if found is None:
            fail(f"no incident {incident!r} in the store (tagent incidents list shows the ids)")
        proposal = DraftProposer.from_settings(settings, client, rules_repo=rules_repo).propose(found)
    except TagentError as exc:
        fail(str(exc))
    if output == Output.json:
        print_json(proposal.as_dict())
    else:
        print(_text(proposal))
    if proposal.status != "proposed":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(name="draft-playbook", help=HELP)(draft_playbook)
