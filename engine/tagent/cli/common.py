"""Helpers shared by command modules: output format, one-line errors."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any, NoReturn

import typer


class Output(StrEnum):
    text = "text"
    json = "json"


OutputOpt = typer.Option(Output.text, "--output", "-o", help="text or json (machine-readable, stdout only)")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line on stderr and exit (1: user error, 2: bad usage)."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=False, default=str))
