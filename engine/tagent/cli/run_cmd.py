"""`tagent run`: the engine (sources, rules, guard, playbooks, notifications) and its HTTP API."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import typer

from tagent.cli.common import fail
from tagent.errors import TagentError


def run(
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help="kubeconfig (default: in-cluster config)"),
    rules: str | None = typer.Option(None, "--rules", help="a directory holding rules/ and playbooks/, or a Git URL"
                                     " (default: TAGENT_RULES, else .)"),
    db: str | None = typer.Option(None, "--db", help="database URL (default: SQLite in the data dir)"),
    prometheus: str | None = typer.Option(None, "--prometheus", help="Prometheus base URL"),
    loki: str | None = typer.Option(None, "--loki", help="Loki base URL"),
    host: str | None = typer.Option(None, "--host", help="API listen address (default 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", min=0, max=65535, help="API port (default 8080)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="decide and record, mutate nothing"),
    config: Path | None = typer.Option(None, "--config", help="settings YAML file (TAGENT_* env vars also apply)"),
) -> None:
    """Run the engine until SIGINT/SIGTERM, with the API on --host:--port."""
    import uvicorn

    from tagent.api.app import create_app
    from tagent.app.build import build_engine
    from tagent.app.engine import freeze_startup_heap
    from tagent.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {"kubeconfig": kubeconfig, "rules": rules, "db_url": db, "prometheus_url": prometheus,
                 "loki_url": loki, "api_host": host, "api_port": port, "dry_run": dry_run or None}
    try:
        settings = load_settings(config, **overrides)
        engine = build_engine(settings)
    except TagentError as exc:
        fail(str(exc))
    if settings.api_token is None:
        logging.getLogger("tagent").warning("TAGENT_API_TOKEN is not set: the API accepts requests without a token")
    api = create_app(engine, settings=settings)
    server = uvicorn.Server(uvicorn.Config(api, host=settings.api_host, port=settings.api_port, log_level="info"))
    leader = engine.leader
    acting = threading.Event()  # set once this replica started the engine's work (a follower never does)

    def act() -> None:
        engine.start()
        freeze_startup_heap()
        acting.set()

    if leader is None:
        act()
    else:  # every replica serves the API; the Lease's holder also acts (docs/ha.md)
        leader.start(on_started=act, on_stopped=lambda: setattr(server, "should_exit", True))
    try:
        server.run()
    finally:
        # stop acting first, then give the Lease up so another replica takes over at once (after a lost Lease:
        # no waiting for runs to finish, their next journal write is fenced anyway). A follower stops nothing:
        # draining would send the leader's pending notifications a second time.
        if acting.is_set():
            engine.stop(timeout=1.0 if leader is not None and leader.lost.is_set() else 10.0)
        if leader is not None:
            leader.stop()
    if leader is not None and leader.lost.is_set():
        fail("leadership lost: exiting so that this replica starts over as a follower", code=3)


def register(app: typer.Typer) -> None:
    app.command(name="run")(run)
