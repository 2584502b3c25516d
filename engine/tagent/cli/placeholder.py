"""A command whose implementation has not landed yet says so clearly and exits 1 (never silently)."""

from __future__ import annotations

import typer

from tagent.cli.common import fail


def pending(app: typer.Typer, name: str, what: str) -> None:
    def _cmd(ctx: typer.Context) -> None:
        fail(f"not built yet: {what}")

    app.command(name=name, help=f"(not built yet) {what}",
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_cmd)
