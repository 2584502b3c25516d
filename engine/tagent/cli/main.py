"""The `tagent` command line (shared/design/CLI.md). Thin: each command module registers itself here."""

from __future__ import annotations

import sys

import typer

from tagent.cli import commands
from tagent.errors import TagentError

app = typer.Typer(
    name="tagent",
    help="Tagent: an AI SRE auto-pilot for Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
commands.register_all(app)


def main() -> None:
    """Console entry point: a TagentError becomes one line on stderr and exit 1, never a traceback."""
    try:
        app(standalone_mode=True)
    except TagentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
