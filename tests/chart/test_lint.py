"""`helm lint` (Helm's Go SDK) is clean for every value set, strict mode included: no warning at all.

Lint runs the templates in Helm's lint mode, where `fail` only logs: the chart's cross-field checks are
asserted through real renders in test_values.py instead. The `helm` binary's own lint is in
test_helm_binary.py.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import helm_python
import pytest

from tests.chart.render import CHART, REPO, lint, lint_problems
from tests.chart.value_sets import VALUE_SETS


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_lint_is_clean(case: str) -> None:
    for strict in (False, True):
        report = lint(VALUE_SETS[case], strict=strict)
        assert report["total_charts_linted"] == 1
        assert report["errors"] == []
        assert lint_problems(report) == []
    # what is left is information only (Helm recommends an icon URL; the project has no public home yet)
    assert {m["error"] for m in report["messages"]} <= {"icon is recommended"}


def test_lint_does_report_a_broken_chart() -> None:
    """Guard against a lint check that cannot fail: an invalid value is an error."""
    report = lint({"engine": {"replicas": "two"}})
    assert report["errors"]


def test_the_chart_packages_as_it_is(tmp_path: Path) -> None:
    """`helm package` on a fresh clone: no dependency to fetch first, and the archive holds the rules pack's
    files themselves (Helm follows the files/ links) and the companion values."""
    archive = helm_python.package(CHART, destination=str(tmp_path))
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
    rules = [n for n in members if n.startswith("tagent/files/rules/")]
    assert rules and all(members[n].isfile() for n in rules)
    assert len(rules) == len(list((REPO / "rules").glob("*.yaml")))
    assert {"tagent/values.schema.json", "tagent/companions/prometheus.values.yaml",
            "tagent/companions/loki.values.yaml", "tagent/companions/otel-collector.values.yaml"} <= set(members)
    assert not [n for n in members if n.startswith("tagent/charts/")]
