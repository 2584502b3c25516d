"""`tagent demo`: a scripted night on the sandbox cluster: detection → page → auto-fix → post-mortem."""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from types import FrameType

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import TagentError


def demo(
    headless: bool = typer.Option(False, "--headless", help="no dashboard; stop when the night is over"),
    seconds: float = typer.Option(240.0, "--for", min=10, help="stop the night after this many wall seconds"),
    speed: float = typer.Option(60.0, "--speed", min=1, max=1000, help="sandbox seconds per wall second"),
    rules: Path = typer.Option(Path("."), "--rules", help="directory holding rules/ and playbooks/"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="where the demo keeps its database"),
    dashboard_port: int = typer.Option(8501, "--dashboard-port", min=1, max=65535),
    output: Output = OutputOpt,
) -> None:
    """Start the sandbox, the engine, the API and the dashboard, and play a night of incidents."""
    from tagent.demo.runner import Demo, DemoOptions

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # SIGTERM and SIGHUP stop the demo as Ctrl-C does: everything it started too

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # the local Teams stand-in serves HTTPS with a throw-away certificate (apprise's workflows:// speaks only
    # https); its "unverified request" warning is expected here and would drown the story
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    if not (rules / "rules").is_dir() or not (rules / "playbooks").is_dir():
        fail(f"{rules} has no rules/ and playbooks/ directories: run from the repository or pass --rules", 2)
    quiet = output == Output.json
    say = (lambda _msg: None) if quiet else (lambda msg: print(msg, flush=True))
    directory = data_dir or Path(tempfile.mkdtemp(prefix="tagent-demo-"))
    the_demo = Demo(DemoOptions(rules=rules, data_dir=directory, speed=speed, seconds=seconds,
                                dashboard=not headless, dashboard_port=dashboard_port), say=say)
    try:
        the_demo.start()
        say(f"sandbox cluster up (speed {speed:g}x, sandbox clock at night); engine API at {the_demo.api_url}")
        if not headless:
            say(f"dashboard: {the_demo.dashboard_url}")
        summary = the_demo.play()
    except TagentError as exc:
        the_demo.stop()
        fail(str(exc))
    except KeyboardInterrupt:
        _ignore_stop_signals()  # a second Ctrl-C must not cut the cleanup short
        the_demo.stop()
        raise typer.Exit(130) from None
    except BaseException:  # anything unexpected: never leave the sandbox, receivers and engine running
        the_demo.stop()
        raise
    if quiet:
        print_json(summary)
    else:
        for row in summary["incidents"]:
            say(f"- {row['rule']} on {row['target']}: {row['status']}, detected after {row['detected_after_s']}s,"
                f" resolved after {row['resolved_after_s']}s; actions: "
                + ", ".join(f"{a['action']} {a['status']}" for a in row["actions"]))
        say(f"{summary['postmortems']} post-mortems written; {summary['replica_hours_saved']} replica-hours saved")
    if not headless:
        say("the dashboard stays up; press Ctrl-C to stop")
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _stop)
        stop.wait()
        _ignore_stop_signals()
    the_demo.stop()
    sys.stdout.flush()
    if not summary["all_as_expected"]:
        raise typer.Exit(1)


def _ignore_stop_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)


def register(app: typer.Typer) -> None:
    app.command(name="demo")(demo)
