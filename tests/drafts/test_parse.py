"""Reading a model's answer: only ever YAML text (or nothing), whatever shape the answer has."""

from __future__ import annotations

import json

import pytest
import yaml

from tagent.actions.catalog import CATALOG
from tagent.llm.draft_prompt import NO_DRAFT, parse_answer
from tagent.policy.draft_text import catalog_text, safe_ref_part

RULE = {"apiVersion": "tagent.io/v1", "kind": "Rule", "metadata": {"name": "r"}, "spec": {"when": {}}}
BOOK = {"apiVersion": "tagent.io/v1", "kind": "Playbook", "metadata": {"name": "p"}, "spec": {"steps": []}}


def docs(text: str) -> list[object]:
    return list(yaml.safe_load_all(text))


def test_json_mode_answer() -> None:
    parsed = parse_answer(json.dumps({"title": "  Restart\n cart ", "rationale": "because", "rule": RULE,
                                      "playbook": BOOK}))
    assert (parsed.title, parsed.rationale, parsed.problems) == ("Restart cart", "because", ())
    assert docs(parsed.yaml_text) == [RULE, BOOK]


def test_json_in_a_fence_with_an_existing_playbook() -> None:
    parsed = parse_answer("Sure:\n```json\n" + json.dumps({"rule": RULE, "playbook": None}) + "\n```")
    assert docs(parsed.yaml_text) == [RULE]


def test_yaml_text_inside_json_and_fenced_yaml() -> None:
    assert parse_answer(json.dumps({"yaml": "kind: Rule\n"})).yaml_text == "kind: Rule\n"
    parsed = parse_answer("Draft:\n```yaml\nkind: Rule\n```\nand\n```yml\nkind: Playbook\n```\nReview it.")
    assert docs(parsed.yaml_text) == [{"kind": "Rule"}, {"kind": "Playbook"}]
    assert parsed.rationale == "Draft:\n\nand\n\nReview it."


@pytest.mark.parametrize("answer", ["Just restart it.", json.dumps({"title": "nothing"}), json.dumps([RULE]), ""])
def test_an_answer_without_a_draft_is_a_problem(answer: str) -> None:
    parsed = parse_answer(answer)
    assert parsed.yaml_text == "" and parsed.problems == (NO_DRAFT,)


def test_a_long_title_is_cut_to_one_line() -> None:
    parsed = parse_answer(json.dumps({"title": "x" * 300, "rule": RULE}))
    assert len(parsed.title) == 100 and parsed.title.endswith("…")


def test_the_catalog_text_lists_every_action_with_its_parameters() -> None:
    lines = catalog_text().splitlines()
    assert len(lines) == len(CATALOG)
    for line, action in zip(lines, CATALOG.values(), strict=True):
        assert line.startswith(f"- {action.name}")
        assert all(f"{p.name} (" in line for p in action.params)
    scale = next(line for line in lines if line.startswith("- kubernetes.scale"))
    assert "[mutates]" in scale and "replicas (integer, 0..1000)" in scale and "exactly one of replicas, delta" in scale


def test_ref_parts_are_safe() -> None:
    assert safe_ref_part("../../etc/Passwd") == "etc-passwd"
    assert safe_ref_part("!!!") == "x"
