"""Issue 14: `tagent dashboard` and `tagent demo` left Streamlit running after SIGTERM or SIGINT (it kept the
port, and the next demo printed the URL of a dead dashboard). Each command runs here as its own process;
its parent alone gets SIGTERM, SIGINT or SIGKILL, and every process it started must be gone, the port free.
A port already in use is one clear line (dashboard) or another free port that the printed URL names (demo).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tagent.ui.launch import port_in_use
from tests.fixtures.services import free_port
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGKILL]
Proc = subprocess.Popen[bytes]


def _tagent(*args: str) -> list[str]:
    return [sys.executable, "-m", "tagent", *args]


@contextmanager
def _running(cmd: list[str], tmp: Path) -> Iterator[tuple[Proc, Path]]:
    """The command in a session of its own (signals go to the parent only); anything left is killed after."""
    out = tmp / "out.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TAGENT_", "STREAMLIT_"))},
           "HOME": str(tmp)}
    # the test process's own children (the session's PostgreSQL and Redis servers, ...) are not ours to kill
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp,
                                start_new_session=True)
    try:
        yield proc, out
    finally:
        for child in psutil.Process().children(recursive=True):  # never leave a stray behind, pass or fail
            if child.pid not in before:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        proc.wait(10)


def _streamlit_under(proc: Proc) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children(recursive=True)
            if "streamlit" in " ".join(p.cmdline())]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _all_gone(procs: list[psutil.Process], port: int) -> None:
    def gone() -> bool:
        return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in procs)

    wait_for(gone, 30, f"{[p.pid for p in procs]} to exit")
    wait_for(lambda: not port_in_use("127.0.0.1", port), 10, f"port {port} to be free")


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_dashboard_takes_streamlit_with_it(sig: signal.Signals, tmp_path: Path) -> None:
    port = free_port()
    cmd = _tagent("dashboard", "--api", "http://127.0.0.1:9", "--port", str(port))
    with _running(cmd, tmp_path) as (proc, out):
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}") or proc.poll() is not None, 90, "the dashboard")
        assert proc.poll() is None, out.read_text()
        streamlit = _streamlit_under(proc)
        assert len(streamlit) == 1, [p.cmdline() for p in psutil.Process(proc.pid).children(recursive=True)]
        family = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, sig)
        code = proc.wait(30)
        assert code == (-signal.SIGKILL if sig is signal.SIGKILL else 0), out.read_text()[-2000:]
        _all_gone(family, port)
        assert "Traceback" not in out.read_text()


def test_dashboard_on_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = subprocess.run(_tagent("dashboard", "--api", "http://127.0.0.1:9", "--port", str(port)),
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"error: port {port} on 127.0.0.1 is in use (another dashboard or demo still "
                                   "running?): stop it or pass another --port (0 picks a free one)")


@pytest.mark.xdist_group("demo")
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_demo_takes_its_dashboard_with_it(sig: signal.Signals, tmp_path: Path) -> None:
    with socket.socket() as holder:  # the port asked for is taken: the demo picks another and says which
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        cmd = _tagent("demo", "--for", "600", "--speed", "60", "--rules", str(REPO), "--data-dir",
                      str(tmp_path / "data"), "--dashboard-port", str(taken))
        with _running(cmd, tmp_path) as (proc, out):
            def printed() -> re.Match[str] | None:
                assert proc.poll() is None, out.read_text()[-3000:]
                return re.search(r"dashboard: (http://127\.0\.0\.1:(\d+))", out.read_text())

            url, port = wait_for(printed, 180, "the demo's dashboard URL").groups()
            assert int(port) != taken
            assert _healthy(url), "the printed URL is a live dashboard"
            family = psutil.Process(proc.pid).children(recursive=True)
            assert len(_streamlit_under(proc)) == 1, [p.cmdline() for p in family]
            os.kill(proc.pid, sig)
            code = proc.wait(60)
            assert code == (-signal.SIGKILL if sig is signal.SIGKILL else 130), out.read_text()[-3000:]
            _all_gone(family, int(port))
            assert "Traceback" not in out.read_text(), out.read_text()[-3000:]
