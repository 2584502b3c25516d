"""`tagent dashboard`: the Streamlit dashboard (tagent.ui) against a running engine API.

It runs `python -m streamlit run <tagent/ui/app.py>` headless. The API URL and token reach the dashboard
through its environment (TAGENT_API_URL, TAGENT_API_TOKEN), never its command line, so the token is not
visible in `ps`; prefer setting TAGENT_API_TOKEN over --token for the same reason.

Streamlit dies with this command (`tagent.ui.launch`): SIGTERM, SIGINT or SIGHUP stop its process group, and
the kernel sends it SIGTERM should this process be killed outright. A port in use is refused before start.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import typer

from tagent.cli.common import fail
from tagent.errors import ConfigError

HELP = """Serve the dashboard on http://ADDRESS:PORT, talking to the engine API at --api (it never talks to the
cluster itself). The API token stays on the dashboard's server: it is sent to the API, never to browsers.
Runs until Ctrl-C or SIGTERM, which stop Streamlit too. --port 0 picks a free port (printed)."""


def app_path() -> Path:
    """The packaged Streamlit entry point (installed with the tagent package)."""
    spec = importlib.util.find_spec("tagent.ui.app")
    if spec is None or spec.origin is None:
        fail("the dashboard is not installed with this tagent package (tagent.ui.app is missing)")
    return Path(spec.origin)


def streamlit_command(port: int, address: str) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(app_path()), "--server.headless", "true",
            "--server.port", str(port), "--server.address", address, "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"]


def register(app: typer.Typer) -> None:
    @app.command(name="dashboard", help=HELP)
    def dashboard(
        api: str = typer.Option("http://127.0.0.1:8080", "--api", envvar="TAGENT_API_URL",
                                help="engine API base URL"),
        token: str | None = typer.Option(None, "--token", envvar="TAGENT_API_TOKEN", show_default=False,
                                         help="engine API token (better: set TAGENT_API_TOKEN)"),
        port: int = typer.Option(8501, "--port", envvar="STREAMLIT_SERVER_PORT", min=0, max=65535,
                                 help="dashboard port (0: a free one)"),
        address: str = typer.Option("127.0.0.1", "--address", envvar="STREAMLIT_SERVER_ADDRESS",
                                    help="listen address (0.0.0.0 in a container)"),
    ) -> None:
        if not api.startswith(("http://", "https://")):
            fail(f"--api must be an http(s) URL, got {api!r}")
        if importlib.util.find_spec("streamlit") is None:
            fail("streamlit is not installed: pip install tagent (it is a dependency)")
        env = {**os.environ, "TAGENT_API_URL": api}
        if token:
            env["TAGENT_API_TOKEN"] = token
        from tagent.ui.launch import dashboard_port

        try:
            port = dashboard_port(address, port)
        except ConfigError as exc:
            fail(str(exc))
        shown = "localhost" if address in ("0.0.0.0", "::") else address
        print(f"Tagent dashboard: http://{shown}:{port} (engine API {api})", file=sys.stderr, flush=True)
        raise typer.Exit(serve(streamlit_command(port, address), env))


class _Stopped(Exception):
    """A stop signal arrived (raised from the handler, so the wait below ends and cleanup runs)."""


def serve(command: list[str], env: dict[str, str]) -> int:
    """Run Streamlit until it exits (its code) or a stop signal arrives (0); it never outlives this call."""
    from tagent.ui.launch import spawn, stop

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped

    proc = None
    try:  # a signal even before Popen returns ends here (a child it had forked gets PDEATHSIG on our exit)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, _stop)
        proc = spawn(command, env)
        return proc.wait()
    except (_Stopped, KeyboardInterrupt):
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the cleanup
        if proc is not None:
            stop(proc)
