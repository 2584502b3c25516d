"""The CLI contract basics: help, bad usage exit 2, pending commands say so."""

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tagent", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for name in ("validate", "sandbox", "run", "chat", "incidents", "demo", "dashboard"):
        assert name in out.stdout


def test_unknown_command_is_usage_error() -> None:
    out = run("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
