"""`tagent validate PATH...`: one `path:line: message` line per problem, exit 1 if any, silent 0 if none."""

from __future__ import annotations

from pathlib import Path

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json


def validate(
    paths: list[Path] = typer.Argument(..., help="rule/playbook files or directories (recursive *.yaml, *.yml)"),
    output: Output = OutputOpt,
) -> None:
    """Check rules, playbooks and escalation policies as one set (shared/design/RULES.md, Validation)."""
    from tagent.policy.validate import check_paths  # here, not at the top: `tagent --help` stays fast

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"no such file or directory: {', '.join(missing)}", 2)
    result = check_paths(paths)
    if output == Output.json:
        print_json([p.as_dict() for p in result.problems])
    else:
        for problem in result.problems:
            print(problem)
    if result.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(name="validate")(validate)
