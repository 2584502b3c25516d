"""docs/rules.md says what the loader does: its examples validate with the real validator (and the ones
quoted from the default pack are the pack's own documents), its broken example prints what `tagent
validate` prints, and every field of the models and every action of the catalog is described."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from tagent.actions.catalog import CATALOG
from tagent.model.policy import EscalationPolicy, Playbook, Rule
from tagent.policy.validate import check_paths
from tests.docs.markdown import REPO, Block, blocks

RULES_DOC = REPO / "docs" / "rules.md"
TAGENT = Path(sys.executable).with_name("tagent")
INVALID = "<!-- invalid"


def doc_blocks() -> list[Block]:
    return blocks(RULES_DOC.read_text())


def examples() -> list[Block]:
    """The complete YAML documents the page shows as valid."""
    return [b for b in doc_blocks() if b.lang == "yaml" and "apiVersion: tagent.io/v1" in b.body
            and not b.marker.startswith(INVALID)]


def pack() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> document, for the repository's rules/ and playbooks/."""
    found = {}
    for file in sorted([*(REPO / "rules").glob("*.yaml"), *(REPO / "playbooks").glob("*.yaml")]):
        for doc in yaml.safe_load_all(file.read_text()):
            if doc:
                found[doc["kind"], doc["metadata"]["name"]] = doc
    return found


def with_pack_playbooks(tmp_path: Path, text: str) -> Path:
    """`text` as rules/doc.yaml beside the pack's playbooks (minus any the text defines itself)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "rules" / "doc.yaml").write_text(text)
    own = {d["metadata"]["name"] for d in yaml.safe_load_all(text) if d and d["kind"] == "Playbook"}
    for file in (REPO / "playbooks").glob("*.yaml"):
        if not {d["metadata"]["name"] for d in yaml.safe_load_all(file.read_text()) if d} & own:
            shutil.copy(file, tmp_path / "playbooks" / file.name)
    return tmp_path


def test_the_page_has_examples_of_every_kind() -> None:
    kinds = {d["kind"] for b in examples() for d in yaml.safe_load_all(b.body) if d}
    assert kinds == {"Rule", "Playbook", "EscalationPolicy"}


@pytest.mark.parametrize("index", range(len(examples())))
def test_each_example_validates(index: int, tmp_path: Path) -> None:
    root = with_pack_playbooks(tmp_path, examples()[index].body)
    result = check_paths([root / "rules", root / "playbooks"], relative_to=root)
    assert [str(p) for p in result.problems] == []


def test_examples_quoted_from_the_pack_are_the_pack() -> None:
    """An example named like a document of rules/ or playbooks/ is that document, unchanged."""
    ours = pack()
    quoted = [d for b in examples() for d in yaml.safe_load_all(b.body) if d]
    same = [d for d in quoted if (d["kind"], d["metadata"]["name"]) in ours]
    assert len(same) >= 6
    for doc in same:
        assert doc == ours[doc["kind"], doc["metadata"]["name"]], doc["metadata"]["name"]


def test_the_broken_example_prints_what_the_page_says(tmp_path: Path) -> None:
    all_blocks = doc_blocks()
    at = next(i for i, b in enumerate(all_blocks) if b.marker.startswith(INVALID))
    broken, first, second = all_blocks[at], all_blocks[at + 1], all_blocks[at + 2]
    assert (first.lang, second.lang) == ("text", "text")
    shutil.copytree(REPO / "playbooks", tmp_path / "playbooks")
    for text, expected in ((broken.body, first.body), (broken.body.replace("reasn:", "reason:"), second.body)):
        (tmp_path / "broken.yaml").write_text(text)
        run = subprocess.run([str(TAGENT), "validate", "broken.yaml", "playbooks"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 1, run.stderr
        assert run.stdout == expected


def _fields(model: type[pydantic.BaseModel], seen: set[type[Any]]) -> set[str]:
    """Every field name (as written in YAML: the alias) of a model and the models inside it."""
    names: set[str] = set()
    if model in seen:
        return names
    seen.add(model)
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for arg in _models_in(info.annotation):
            names |= _fields(arg, seen)
    return names


def _models_in(annotation: Any) -> list[type[pydantic.BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def test_every_field_of_the_format_is_described() -> None:
    text = RULES_DOC.read_text()
    fields = set().union(*(_fields(m, set()) for m in (Rule, Playbook, EscalationPolicy)))
    assert {"when", "within", "on_failure", "retries", "for", "ack_timeout", "enabled"} <= fields
    # a field is named in code: `when`, `spec.when`, `spec.match.namespaces`, `spec.routes[].notify`, ...
    missing = sorted(f for f in fields if not re.search(rf"[`.]{re.escape(f)}[`.,\[]", text))
    assert missing == []


def test_every_action_and_parameter_is_in_the_catalog_table() -> None:
    text = RULES_DOC.read_text()
    table = text[text.index("### The action catalog"):text.index("## EscalationPolicy")]
    rows = {line.split("|")[1].strip().strip("`"): line for line in table.splitlines()
            if line.startswith("| `")}
    assert set(rows) == set(CATALOG)
    for name, action in CATALOG.items():
        for param in action.params:
            assert f"`{param.name}`" in rows[name], f"{name}: parameter {param.name} is not described"
        assert ("| yes |" in rows[name]) is action.mutates, f"{name}: mutates should say {action.mutates}"
