"""Placeholder: replace with the real commands (keep `register`)."""

from __future__ import annotations

import typer

from tagent.cli.placeholder import pending


def register(app: typer.Typer) -> None:
    pending(app, 'validate', 'tagent validate PATH... (foundation issue)')
