"""Every `TAGENT_*` variable the README and the docs tell people to set is one the code reads: a field of
`tagent.settings.Settings` (`TAGENT_FORGE_*` style names stand for a group of fields), or a variable that a
command reads itself (the dashboard's TAGENT_API_URL). A renamed setting leaves no stale instruction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tagent.settings import Settings
from tests.docs.markdown import REPO, USER_DOCS

_VAR = re.compile(r"\bTAGENT_(?P<name>[A-Z0-9_]+?)(?P<star>_?\*)?(?![A-Z0-9_])")
FIELDS = set(Settings.model_fields)


def _read_by_code(variable: str) -> bool:
    """A variable some command reads itself (not a Settings field)."""
    return any(f'"{variable}"' in p.read_text() for p in (REPO / "engine" / "tagent").rglob("*.py"))


def _known(name: str, star: bool) -> bool:
    field = name.lower().removesuffix("__")
    if star:
        return any(f.startswith(field + "_") for f in FIELDS)
    return field in FIELDS or _read_by_code(f"TAGENT_{name}")


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: str(Path(p).relative_to(REPO)))
def test_documented_variables_exist(doc: Path) -> None:
    found = {(m.group("name"), bool(m.group("star"))) for m in _VAR.finditer(doc.read_text())}
    unknown = sorted(f"TAGENT_{n}{'_*' if s else ''}" for n, s in found if not _known(n, s))
    assert unknown == []


def test_the_check_can_fail() -> None:
    assert not _known("RULES_BRANCHES", False) and not _known("NOPE", True)
    assert _known("RATE_LIMIT", True) and _known("NOTIFY_URLS__", False) and _known("API_URL", False)
