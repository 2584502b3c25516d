"""What a missing control plane does to the tests that need it: skip with one line when there is no Go to
build it, fail when CI=true (CI must run them), fail with the command to run when Go is there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEEDS_IT = "def test_needs_the_control_plane(real_k8s):\n    assert real_k8s.server\n"


def run(tmp_path: Path, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_needs_it.py"
    test.write_text(NEEDS_IT)
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    base.update(PATH=path, TAGENT_K8S_BIN=str(tmp_path / "not-built"), PYTHONPATH=str(REPO), **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "-p", "tests.fixtures.realk8s", "--rootdir", str(tmp_path), str(test)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, env=base)


def without_go() -> str:
    return os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "go").exists())


def test_no_build_and_no_go_skips_with_one_line(tmp_path: Path) -> None:
    done = run(tmp_path, without_go())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "real control plane not built and Go is not installed" in done.stdout


def test_with_ci_a_missing_control_plane_fails(tmp_path: Path) -> None:
    done = run(tmp_path, without_go(), CI="true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CI=true but the real control plane is not built" in done.stdout


@pytest.mark.skipif(not any((Path(d) / "go").exists() for d in os.environ["PATH"].split(os.pathsep)),
                    reason="Go is not installed")
def test_with_go_but_no_build_fails_with_the_command_to_run(tmp_path: Path) -> None:
    done = run(tmp_path, os.environ["PATH"])
    assert done.returncode == 1, done.stdout + done.stderr
    assert "run scripts/control-plane.sh" in done.stdout
