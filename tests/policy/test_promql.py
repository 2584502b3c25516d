"""PromQL checked by the real promtool (Debian `prometheus`, installed by `make test`); skipped without it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tagent.policy.validate import check_paths

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus) not installed")

PLAYBOOK = """\
apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: page}
spec:
  steps:
    - action: notify.page
"""


def _rule(name: str, when: str) -> str:
    return (f"apiVersion: tagent.io/v1\nkind: Rule\nmetadata: {{name: {name}}}\nspec:\n  when:\n{when}"
            "  then: {playbook: page}\n")


SINGLE_BAD = ("    prometheus:\n      query: 'sum(rate(http_requests_total{code=~\"5..\"}[1m])'\n"
              "      op: '>'\n      value: 10\n")
SINGLE_GOOD = ("    prometheus:\n      query: 'sum by (namespace) (rate(http_requests_total{code=~\"5..\"}[1m]))'\n"
               "      op: '>'\n      value: 10\n")
ALL_BAD = ("    all:\n      - kubernetes: {reason: RolloutStarted}\n"
           "      - prometheus: {query: 'histogram_quantile(0.99, foo{', op: '>', value: 1}\n    within: 10m\n")


def _write(tmp_path: Path, files: dict[str, str]) -> list[Path]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return [tmp_path]


def test_bad_queries_are_reported_at_their_line_in_one_promtool_run(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"a.yaml": _rule("a", SINGLE_BAD), "b.yaml": _rule("b", SINGLE_GOOD),
                              "c.yaml": _rule("c", ALL_BAD), "p.yaml": PLAYBOOK})
    lines = [str(p) for p in check_paths(paths, relative_to=tmp_path).problems]
    # promtool's own words (the column differs between Prometheus versions)
    assert len(lines) == 2
    assert lines[0].startswith("a.yaml:7: spec.when.prometheus.query: invalid PromQL: 1:")
    assert lines[0].endswith("parse error: unclosed left parenthesis")
    assert lines[1].startswith("c.yaml:8: spec.when.all[1].prometheus.query: invalid PromQL: 1:")
    assert lines[1].endswith("parse error: unexpected end of input inside braces")


def test_promql_check_is_skipped_silently_without_promtool(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"a.yaml": _rule("a", SINGLE_BAD), "p.yaml": PLAYBOOK})
    assert check_paths(paths, promtool=None).ok
    assert check_paths(paths, promtool="promtool-that-is-not-installed").ok


def test_valid_queries_pass(tmp_path: Path) -> None:
    paths = _write(tmp_path, {"b.yaml": _rule("b", SINGLE_GOOD), "p.yaml": PLAYBOOK})
    assert check_paths(paths).ok
