"""Cross-document checks that the broken directory does not cover, and the RuleSet API."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from tagent.errors import ValidationError
from tagent.policy.ruleset import RuleSet
from tagent.policy.validate import check_paths, load_ruleset

PLAYBOOK = """\
apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: scale-to}
spec:
  params:
    replicas: {type: integer, minimum: 0, maximum: 20}
  steps:
    - action: kubernetes.scale
      with: {replicas: "{{ params.replicas }}"}
"""
RULE = """\
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: scale-when-idle}
spec:
  when:
    metrics: {name: cpu_utilization, op: "<", value: 0.05, for: 1h}
  then:
    playbook: scale-to
"""


def _lines(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [str(p) for p in check_paths([tmp_path], relative_to=tmp_path, promtool=None).problems]


def test_a_playbook_param_without_default_must_be_given_by_the_rule(tmp_path: Path) -> None:
    assert _lines(tmp_path, {"p.yaml": PLAYBOOK, "r.yaml": RULE}) == [
        "r.yaml:8: spec.then.playbook: playbook 'scale-to' needs parameter 'replicas' (it has no default)"]
    given = RULE + "    params: {replicas: 3}\n"
    assert _lines(tmp_path, {"r.yaml": given}) == []
    too_many = RULE + "    params: {replicas: 30}\n"
    assert _lines(tmp_path, {"r.yaml": too_many}) == ["r.yaml:9: spec.then.params.replicas: 30 is above the maximum 20"]
    templated = RULE + '    params: {replicas: "{{ event.values.value | int }}"}\n'
    assert _lines(tmp_path, {"r.yaml": templated}) == []


def test_a_broken_playbook_is_reported_once_not_again_by_each_rule_using_it(tmp_path: Path) -> None:
    broken = PLAYBOOK.replace("action: kubernetes.scale", "action: kubernetes.scale\n      retries: 99")
    assert _lines(tmp_path, {"p.yaml": broken, "r.yaml": RULE + "    params: {replicas: 3}\n"}) == [
        "p.yaml:9: spec.steps[0].retries: must be less than or equal to 10"]


def test_params_without_playbook_and_param_spec_consistency(tmp_path: Path) -> None:
    notify_only = RULE.replace("    playbook: scale-to\n", "    params: {replicas: 1}\n") + "  mode: notify\n"
    bad_spec = PLAYBOOK.replace("{type: integer, minimum: 0, maximum: 20}", "{type: string, minimum: 1}")
    bad_range = PLAYBOOK.replace("minimum: 0, maximum: 20", "minimum: 5, maximum: 2, default: 3")
    assert _lines(tmp_path, {"r.yaml": notify_only}) == ["r.yaml:8: spec.then.params: params without a playbook"]
    (tmp_path / "r.yaml").unlink()
    assert _lines(tmp_path, {"p.yaml": bad_spec}) == [
        "p.yaml:6: spec.params.replicas: minimum/maximum apply to integer and number, not string"]
    assert _lines(tmp_path, {"p.yaml": bad_range}) == ["p.yaml:6: spec.params.replicas.minimum: minimum 5 is above"
                                                        " maximum 2"]


def test_duplicate_step_names_and_literal_types_in_steps(tmp_path: Path) -> None:
    text = PLAYBOOK.replace("kubernetes.scale\n", "kubernetes.scale\n      name: s\n").replace(
        '      with: {replicas: "{{ params.replicas }}"}\n',
        '      with: {replicas: "{{ params.replicas }}"}\n    - {name: s, action: wait, with: {duration: soon}}\n')
    assert _lines(tmp_path, {"p.yaml": text}) == [
        "p.yaml:11: spec.steps[1].name: step name 's' is already used by step 0",
        "p.yaml:11: spec.steps[1].with.duration: invalid duration 'soon': use a number and a unit, e.g. 30s, 5m,"
        " 1h, 2d"]


def test_load_ruleset_raises_with_every_problem_and_builds_an_immutable_set(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RULE, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_ruleset([tmp_path], relative_to=tmp_path, promtool=None)
    assert info.value.problems == [
        "r.yaml:8: spec.then.playbook: playbook 'scale-to' needs parameter 'replicas' (it has no default)"]
    (tmp_path / "r.yaml").write_text(RULE + "    params: {replicas: 2}\n", encoding="utf-8")
    ruleset = load_ruleset([tmp_path], relative_to=tmp_path, promtool=None)
    assert isinstance(ruleset, RuleSet)
    rule = ruleset.rules["scale-when-idle"]
    book = ruleset.playbook_for(rule)
    assert book is not None and book.name == "scale-to"
    assert ruleset.playbook_for("scale-when-idle") == book
    assert ruleset.origins[("Rule", "scale-when-idle")] == "r.yaml:1"
    assert ruleset.default_policy() is None and len(ruleset) == 2
    assert [r.name for r in ruleset.enabled_rules()] == ["scale-when-idle"]
    with pytest.raises(TypeError):
        ruleset.rules["x"] = rule  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        ruleset.rules = {}  # type: ignore[misc]


def test_missing_path_is_a_problem_for_api_callers(tmp_path: Path) -> None:
    result = check_paths([tmp_path / "nope"], promtool=None)
    assert [p.message for p in result.problems] == ["no such file or directory"]


def test_public_exports() -> None:
    import tagent.policy
    import tagent.policy.gitops as gitops

    assert sorted(tagent.policy.__all__) == ["Problem", "RuleSet", "Validation", "check_files", "check_paths",
                                             "load_ruleset"]
    for name in ("RulesSource", "VersionRecorder", "Active", "RulesVersion", "PollResult", "PollStatus"):
        assert hasattr(gitops, name)


def test_a_link_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("kind: top-secret-value\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "x.yaml").symlink_to(secret)
    lines = [str(p) for p in check_paths([repo], relative_to=repo, promtool=None).problems]
    assert lines == ["x.yaml:1: links to a file outside the rules repository"]


def test_load_file_gives_models_of_one_file(tmp_path: Path) -> None:
    from tagent.model.policy import Playbook
    from tagent.policy.documents import load_file

    file = tmp_path / "p.yaml"
    file.write_text(PLAYBOOK + "---\nkind: Playbook\n", encoding="utf-8")
    docs, problems = load_file(file, "p.yaml")
    assert [type(d.model) for d in docs] == [Playbook] and docs[0].name == "scale-to"
    assert [str(p) for p in problems] == ["p.yaml:11: apiVersion: required field missing",
                                          "p.yaml:11: metadata: required field missing",
                                          "p.yaml:11: spec: required field missing"]


def test_a_rule_with_a_schema_error_and_a_missing_playbook_shows_both(tmp_path: Path) -> None:
    """Issue 14: a version with two mistakes reported only the first (the schema's)."""
    two = RULE.replace("spec:\n", "spec:\n  severity: dire\n", 1).replace("playbook: scale-to", "playbook: scale-too")
    assert _lines(tmp_path, {"p.yaml": PLAYBOOK, "r.yaml": two}) == [
        "r.yaml:5: spec.severity: must be 'info', 'warning' or 'critical', got 'dire'",
        "r.yaml:9: spec.then.playbook: playbook 'scale-too' not found (did you mean 'scale-to'?)"]
    broken_book = PLAYBOOK.replace("action: kubernetes.scale", "action: kubernetes.scale\n      retries: 99")
    assert _lines(tmp_path, {"p.yaml": broken_book, "r.yaml": two.replace("scale-too", "scale-to")}) == [
        "p.yaml:9: spec.steps[0].retries: must be less than or equal to 10",
        "r.yaml:5: spec.severity: must be 'info', 'warning' or 'critical', got 'dire'"]  # no "not found" echo
