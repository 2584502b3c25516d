"""Placeholder: replace with the real commands (keep `register`)."""

from __future__ import annotations

import typer

from tagent.cli.placeholder import pending


def register(app: typer.Typer) -> None:
    pending(app, 'test-rule', 'tagent test-rule RULE --event EVENT (detection issue)')
