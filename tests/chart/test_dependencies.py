"""The optional observability dependencies: declared with conditions, off by default, wired when on.

The upstream charts cannot be downloaded here (no network but package registries), so these tests
put small stand-in charts with the same names and versions into a copy's charts/ directory: Helm's
own dependency processing (conditions, values passed down, lint, package) then runs for real. What the
upstream charts render is theirs to test; what is ours is that the conditions and values reach them.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from tagent.policy.files import PACK_DIRS
from tests.chart.render import CHART, MISSING_DEPENDENCIES, REPO, lint, lint_problems, render
from tests.chart.value_sets import DEPENDENCIES_ON

UPSTREAM = {
    "prometheus": "https://prometheus-community.github.io/helm-charts",
    "kube-prometheus-stack": "https://prometheus-community.github.io/helm-charts",
    "loki": "https://grafana.github.io/helm-charts",
    "alloy": "https://grafana.github.io/helm-charts",
    "opentelemetry-collector": "https://open-telemetry.github.io/opentelemetry-helm-charts",
}


def declared() -> list[dict[str, Any]]:
    deps: list[dict[str, Any]] = yaml.safe_load((CHART / "Chart.yaml").read_text())["dependencies"]
    return deps


def lowest_version(constraint: str) -> str:
    """A version inside constraints like "27.x.x" or ">=0.12.0"."""
    parts = re.sub(r"^[>=~^ ]+", "", constraint).split(" ")[0].split(".")
    return ".".join("0" if p in {"x", "X", "*"} else p for p in [*parts, "0", "0"][:3])


def with_standins(tmp_path: Path) -> Path:
    """A copy of the chart whose charts/ holds one stand-in per dependency; each renders a ConfigMap that
    echoes the values it was given. The rules-pack links keep being links (to the repository's dirs)."""
    copy = tmp_path / "tagent"
    shutil.copytree(CHART, copy, symlinks=True)
    for directory in PACK_DIRS:
        (copy / "files" / directory).unlink()
        (copy / "files" / directory).symlink_to(REPO / directory, target_is_directory=True)
    for dep in declared():
        sub = copy / "charts" / dep["name"]
        (sub / "templates").mkdir(parents=True)
        (sub / "Chart.yaml").write_text(yaml.safe_dump({
            "apiVersion": "v2", "name": dep["name"], "version": lowest_version(dep["version"]),
            "description": f"stand-in for {dep['repository']}", "icon": "https://example.invalid/icon.svg"}))
        (sub / "values.yaml").write_text("enabled: false\n")
        (sub / "templates" / "standin.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + dep["name"] + "-standin\n"
            "data:\n  values: {{ toJson .Values | quote }}\n")
    return copy


def test_dependencies_are_declared_with_conditions_and_off_by_default() -> None:
    deps = declared()
    assert {d["name"]: d["repository"] for d in deps} == UPSTREAM
    with helm_python.Chart.load(CHART) as chart:
        values = chart.values
        schema = chart.schema
    assert schema is not None
    for dep in deps:
        assert dep["condition"] == f"{dep['name']}.enabled"
        assert values[dep["name"]] == {"enabled": False}
        assert dep["name"] in schema["properties"]


def test_without_the_tarballs_lint_only_warns_and_render_works(tmp_path: Path) -> None:
    """The state of a fresh clone: lint has no error, only the missing-dependencies warning."""
    report = lint()
    assert report["errors"] == []
    assert lint_problems(report) == [f"{CHART}: {MISSING_DEPENDENCIES}: "
                                     "prometheus,kube-prometheus-stack,loki,alloy,opentelemetry-collector"]
    assert render().objects
    # strict lint (warnings are errors) and packaging need the downloaded dependencies
    assert lint(strict=True)["errors"]
    with pytest.raises(helm_python.HelmChartInvalidError, match="missing in charts/ directory"):
        helm_python.package(CHART, destination=str(tmp_path))


def test_conditions_switch_the_dependencies(tmp_path: Path) -> None:
    chart = with_standins(tmp_path)
    assert {d["status"] for d in helm_python.dependency_list(chart)} == {"unpacked"}
    off = render(chart=chart)
    assert not [o for o in off.objects if o["metadata"]["name"].endswith("-standin")]
    on = render(DEPENDENCIES_ON, chart=chart)
    standins = {o["metadata"]["name"]: yaml.safe_load(o["data"]["values"]) for o in on.objects
                if o["metadata"]["name"].endswith("-standin")}
    assert set(standins) == {"tagent-prometheus-standin", "tagent-loki-standin", "tagent-alloy-standin",
                             "tagent-opentelemetry-collector-standin"}
    # our values reach the upstream chart unchanged
    assert standins["tagent-opentelemetry-collector-standin"]["mode"] == "deployment"
    assert standins["tagent-loki-standin"]["deploymentMode"] == "SingleBinary"
    assert standins["tagent-prometheus-standin"]["alertmanager"] == {"enabled": False}


def test_lint_is_clean_and_the_package_holds_the_pack(tmp_path: Path) -> None:
    chart = with_standins(tmp_path)
    for values in ({}, DEPENDENCIES_ON):
        report = lint(values, chart=chart, strict=True)
        assert report["errors"] == [] and lint_problems(report) == []
    archive = helm_python.package(chart, destination=str(tmp_path))
    with tarfile.open(archive) as tar:
        names = {m.name: m for m in tar.getmembers()}
    rules = [n for n in names if n.startswith("tagent/files/rules/")]
    assert all((chart / "files" / d).is_symlink() for d in PACK_DIRS)
    # Helm followed the links: the archive holds the files themselves, not links to a repo the user lacks
    assert rules and all(names[n].isfile() for n in rules)
    assert "tagent/charts/loki/Chart.yaml" in names
    assert "tagent/values.schema.json" in names
