"""A directory of deliberately broken files: exactly one accurate `path:line: message` per file."""

from __future__ import annotations

from tagent.policy.validate import check_paths
from tests.policy.paths import BROKEN, REPO, expected_broken_lines


def test_each_broken_file_yields_exactly_its_expected_line() -> None:
    result = check_paths([BROKEN], relative_to=REPO, promtool=None)
    actual = [str(p) for p in result.problems]
    expected = expected_broken_lines()
    assert len(expected) == len(list(BROKEN.glob("*.yaml"))) - 1  # every file but 00-valid.yaml says what it expects
    assert actual == expected
    assert result.ruleset is None and not result.ok


def test_each_broken_file_alone_next_to_the_valid_one_gives_its_line() -> None:
    """No problem depends on another broken file (no cascades, no masking)."""
    for line in expected_broken_lines():
        name = line.split(":", 1)[0].rsplit("/", 1)[1]
        result = check_paths([BROKEN / "00-valid.yaml", BROKEN / name], relative_to=REPO, promtool=None)
        assert [str(p) for p in result.problems] == [line]


def test_the_valid_file_alone_is_clean() -> None:
    result = check_paths([BROKEN / "00-valid.yaml"], relative_to=REPO, promtool=None)
    assert result.ok and result.ruleset is not None
    assert set(result.ruleset.rules) == {"crashloop-restart"}
