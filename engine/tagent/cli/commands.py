"""The explicit list of command modules (no discovery by import side effects)."""

from __future__ import annotations

import importlib

import typer

# Each module defines `register(app: typer.Typer) -> None`.
MODULES = (
    "tagent.cli.validate_cmd",
    "tagent.cli.sandbox_cmd",
    "tagent.cli.run_cmd",
    "tagent.cli.chat_cmd",
    "tagent.cli.incidents_cmd",
    "tagent.cli.demo_cmd",
    "tagent.cli.dashboard_cmd",
    "tagent.cli.bench_cmd",
    "tagent.cli.rule_cmd",
    "tagent.cli.draft_cmd",
)


def register_all(app: typer.Typer) -> None:
    for name in MODULES:
        importlib.import_module(name).register(app)
