"""docs/cli.md describes the `tagent` command that exists: a section per command, and in each section a table
with exactly the command's options. Read from the command tree itself (typer's click commands), so a new
command or option without documentation, or documentation of one that is gone, fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from tagent.cli.main import app
from tests.docs.markdown import REPO, sections

CLI_DOC = REPO / "docs" / "cli.md"
_ROW = re.compile(r"^\|\s*(?P<cell>`-[^|]*)\|", re.MULTILINE)


def commands() -> dict[str, Any]:
    """'tagent run', 'tagent sandbox up', ... -> the click command (groups included, hidden ones left out)."""
    found: dict[str, Any] = {}

    def walk(cmd: Any, path: str) -> Iterator[None]:
        found[path] = cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, f"{path} {name}")
        yield None

    list(walk(typer.main.get_command(app), "tagent"))
    del found["tagent"]
    return found


def options(cmd: Any) -> set[str]:
    return {opt for p in cmd.params if p.param_type_name == "option" and not p.hidden for opt in p.opts}


def documented_sections() -> dict[str, str]:
    text = CLI_DOC.read_text()
    return {**sections(text, 2), **sections(text, 3)}


def documented_options(section: str) -> set[str]:
    """Every `--x` / `-x` named in the first cell of the section's table rows (its own subsections cut off)."""
    own = section.split("\n### ", 1)[0]
    return {name for m in _ROW.finditer(own) for name in re.findall(r"`(-[-\w]+)`", m.group("cell"))}


def test_every_command_has_a_section_and_every_section_a_command() -> None:
    have = set(commands())
    documented = {title for title in documented_sections() if title.startswith("tagent ")}
    assert have - documented == set(), "commands without a section in docs/cli.md"
    assert documented - have == set(), "docs/cli.md documents commands that do not exist"


@pytest.mark.parametrize("path", sorted(commands()))
def test_each_section_lists_exactly_its_options(path: str) -> None:
    cmd = commands()[path]
    section = documented_sections()[path]
    if getattr(cmd, "commands", None) and not options(cmd):  # a plain group: its subcommands carry the options
        return
    assert documented_options(section) == options(cmd)
    # every argument appears in the usage line, upper case (RULE_FILE, PATHS...)
    for param in cmd.params:
        if param.param_type_name == "argument":
            assert param.name.upper() in section, f"{path}: argument {param.name.upper()} not shown"


def test_the_check_can_fail() -> None:
    """A section that lost a row, or gained one for an option that does not exist, is noticed."""
    section = documented_sections()["tagent validate"]
    assert documented_options(section) == {"--output", "-o"}
    assert documented_options(section.replace("| `--output`, `-o` |", "| `--format` |")) == {"--format"}


def test_the_fault_list_is_the_sandbox_one() -> None:
    from tagent.sandbox import FAULTS

    section = documented_sections()["tagent sandbox inject"]
    listed = set(re.findall(r"`([a-z-]+)`", section.split("| option |")[0]))
    assert listed == set(FAULTS)
