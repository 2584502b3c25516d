"""`helm lint` (Helm's Go SDK) is clean for every value set.

Lint runs the templates in Helm's lint mode, where `fail` only logs: the chart's cross-field checks are
asserted through real renders in test_values.py instead.
"""

from __future__ import annotations

import pytest

from tests.chart.render import MISSING_DEPENDENCIES, lint, lint_problems
from tests.chart.value_sets import VALUE_SETS


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_lint_is_clean(case: str) -> None:
    report = lint(VALUE_SETS[case])
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # the one warning left is the undownloaded optional dependencies (see test_dependencies.py)
    assert lint_problems(report, ignore=(MISSING_DEPENDENCIES,)) == []
