"""The README and the user docs stay inside the repository: no reference to the design notes outside it, no
link to another site, and every relative link or backticked repository path names something that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.markdown import REPO, USER_DOCS, links

# A backticked path into the repository: `docs/rules.md`, `charts/tagent/companions/loki.values.yaml`, ...
_TOP = sorted(p.name for p in REPO.iterdir() if not p.name.startswith(".") or p.name == ".ci")
_PATH = re.compile(r"`(?P<path>(?:" + "|".join(re.escape(t) for t in _TOP) + r")/[\w./-]*)`")
_OUTSIDE = ("shared/design", "/work/", "ARCHITECTURE.md", "RULES.md", "CLI.md")


def _id(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_the_user_docs_are_the_expected_files() -> None:
    names = {_id(p) for p in USER_DOCS}
    assert {"README.md", "docs/rules.md", "docs/cli.md", "docs/architecture.md", "docs/api.md",
            "charts/tagent/README.md"} <= names


@pytest.mark.parametrize("doc", USER_DOCS, ids=_id)
def test_no_reference_outside_the_repository(doc: Path) -> None:
    text = doc.read_text()
    for needle in _OUTSIDE:
        assert needle not in text, f"{_id(doc)} refers to {needle!r}, which is not in the repository"


@pytest.mark.parametrize("doc", USER_DOCS, ids=_id)
def test_links_are_relative_and_resolve(doc: Path) -> None:
    for target in links(doc.read_text()):
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", target), f"{_id(doc)} links outside the repository: {target}"
        path = target.split("#", 1)[0]
        if path:
            assert (doc.parent / path).exists(), f"{_id(doc)}: broken link {target}"


@pytest.mark.parametrize("doc", USER_DOCS, ids=_id)
def test_backticked_repository_paths_exist(doc: Path) -> None:
    missing = sorted({m.group("path") for m in _PATH.finditer(doc.read_text())
                      if not (REPO / m.group("path").rstrip("/.")).exists()})
    assert missing == [], f"{_id(doc)} names paths that do not exist"


def test_the_checks_can_fail(tmp_path: Path) -> None:
    assert links("see [the notes](../shared/design/RULES.md) and [x](https://example.com)") == [
        "../shared/design/RULES.md", "https://example.com"]
    assert _PATH.search("`docs/nothing-here.md`") is not None
