"""The sandbox's pure parts: patches (RFC 7386 / 6902 examples), selectors, the clock, scenario files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tagent.errors import ValidationError
from tagent.sandbox import SandboxClock, default_scenario, load_scenario
from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.clock import human_age
from tagent.sandbox.patch import apply_patch, json_patch, merge_patch, strategic_merge
from tagent.sandbox.selectors import field_selector, label_selector

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_merge_patch_rfc7386_example() -> None:
    target = {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"}, "tags": ["example", "sample"],
              "content": "This will be unchanged"}
    patch = {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None}, "tags": ["example"]}
    assert merge_patch(target, patch) == {"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
                                          "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"}


def test_json_patch_operations_and_failures() -> None:
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "add", "path": "/a/b/0", "value": 0},
                           {"op": "move", "from": "/c", "path": "/d"}, {"op": "copy", "from": "/d", "path": "/e~1f"},
                           {"op": "test", "path": "/a/b/3", "value": 3}])
    assert out == {"a": {"b": [0, 1, 2, 3]}, "d": "x", "e/f": "x"}
    assert doc == {"a": {"b": [1, 2]}, "c": "x"}  # the input is untouched
    for bad in ([{"op": "remove", "path": "/nope"}], [{"op": "replace", "path": "/z", "value": 1}],
                [{"op": "test", "path": "/c", "value": "y"}]):
        with pytest.raises(ApiError) as err:
            json_patch(doc, bad)
        assert err.value.code == 422
    with pytest.raises(ApiError) as err:
        apply_patch("application/json-patch+json", doc, {"op": "add"})
    assert err.value.code == 400
    with pytest.raises(ApiError) as err:
        apply_patch("text/plain", doc, {})
    assert err.value.code == 415


def test_strategic_merge_merges_named_lists() -> None:
    spec = {"containers": [{"name": "a", "image": "x:1", "env": [{"name": "K", "value": "1"}]}, {"name": "b"}],
            "args": ["--one"]}
    out = strategic_merge(spec, {"containers": [{"name": "a", "env": [{"name": "L", "value": "2"}]},
                                                {"name": "b", "$patch": "delete"}, {"name": "c", "image": "c:1"}],
                                 "args": ["--two"], "$setElementOrder/containers": [{"name": "a"}]})
    assert out == {"containers": [{"name": "a", "image": "x:1", "env": [{"name": "K", "value": "1"},
                                                                         {"name": "L", "value": "2"}]},
                                  {"name": "c", "image": "c:1"}], "args": ["--two"]}


def test_label_and_field_selectors() -> None:
    labels = {"app": "cart", "tier": "backend"}
    assert label_selector("app=cart,tier in (backend, cache)")(labels)
    assert label_selector("app!=frontend,!canary,tier")(labels)
    assert not label_selector("tier notin (backend)")(labels)
    assert not label_selector("app==checkout")(labels)
    with pytest.raises(ApiError):
        label_selector("app in (x")
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running"}}
    assert field_selector("metadata.name=p,status.phase!=Pending")(pod)
    assert not field_selector("spec.nodeName=node-a")(pod)


def test_clock_runs_at_speed_and_ages_read_like_kubectl() -> None:
    ticks = iter([100.0, 100.0, 110.0])
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    clock = SandboxClock(60, start=start, monotonic=lambda: next(ticks))
    assert clock.now() == start
    assert clock.now() == start + dt.timedelta(minutes=10)  # 10 wall seconds at 60x
    assert clock.wall_seconds(120) == 2
    with pytest.raises(ValueError):
        SandboxClock(0)
    assert [human_age(s) for s in (5, 150, 3600, 30 * 3600, 3 * 86400 + 7200)] == ["5s", "2m30s", "60m", "30h", "3d2h"]


def test_scenario_files_load_and_default_yaml_matches_the_builtin() -> None:
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files
    loaded = {f.stem: load_scenario(f) for f in files}
    assert loaded["default"] == default_scenario()
    assert loaded["night-shift"].spec.script[0].target == "shop/payment-service"


def test_bad_scenarios_are_validation_errors(tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text("apiVersion: tagent.io/v1\nkind: SandboxScenario\nmetadata: {name: x}\nspec:\n"
                   "  nodes: [{name: n}]\n  workloads: [{namespace: a, name: b, image: c, cpu: lots}]\n"
                   "  script: [{at: soon, fault: crashloop, target: a/b}]\n")
    with pytest.raises(ValidationError) as err:
        load_scenario(bad)
    text = "\n".join(err.value.problems)
    assert "spec.workloads.0.cpu" in text and "spec.script.0.at" in text
    bad.write_text("spec: [unclosed")
    with pytest.raises(ValidationError, match="invalid YAML"):
        load_scenario(bad)
    with pytest.raises(ValidationError, match="cannot read scenario"):
        load_scenario(tmp_path / "missing.yaml")
