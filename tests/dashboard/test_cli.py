"""`tagent dashboard`: bad input is one line on stderr; the command it runs is the packaged app, headless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tagent.cli.dashboard_cmd import app_path, streamlit_command


def test_bad_api_url_is_one_clear_line() -> None:
    done = subprocess.run([sys.executable, "-m", "tagent", "dashboard", "--api", "localhost:8080"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: --api must be an http(s) URL, got 'localhost:8080'"


def test_streamlit_command_runs_the_packaged_app_headless() -> None:
    command = streamlit_command(8600, "0.0.0.0")
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert Path(command[4]) == app_path() and app_path().name == "app.py" and app_path().is_file()
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.headless"] == "true"
    assert options["--server.port"] == "8600"
    assert options["--server.address"] == "0.0.0.0"
    assert options["--browser.gatherUsageStats"] == "false"
    assert all("token" not in part.lower() for part in command)  # the token travels in the environment only
