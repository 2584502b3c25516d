"""`helm lint` (Helm's Go SDK) is clean for every value set, strict mode included: no warning at all.

Lint runs the templates in Helm's lint mode, where `fail` only logs: the chart's cross-field checks are
asserted through real renders in test_values.py instead. The `helm` binary's own lint is in
test_helm_binary.py.
"""

from __future__ import annotations

import pytest

from tests.chart.render import lint, lint_problems
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
