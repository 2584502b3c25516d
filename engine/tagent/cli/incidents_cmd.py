"""`tagent incidents list|show|export`: incidents and their post-mortems from the store (`tagent debrief`:
debrief_cmd, registered here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tagent.cli.common import Output, OutputOpt, fail, print_json
from tagent.errors import TagentError

if TYPE_CHECKING:  # the store (SQLAlchemy, alembic) and the models load only when a command runs
    from tagent.model import Incident
    from tagent.store import Store

DbOpt = typer.Option(None, "--db", help="database URL (default: the configured one, SQLite under the data dir)")


@contextmanager
def _store(db: str | None) -> Iterator[Store]:
    from tagent.settings import load_settings
    from tagent.store import Store

    try:
        store = Store.open(db or load_settings().database_url)
    except TagentError as exc:
        fail(str(exc))
    try:
        yield store
    finally:
        store.close()


def _since(text: str) -> datetime:
    from tagent.model import utcnow
    from tagent.model.duration import parse_duration

    try:
        return utcnow() - timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        fail(f"--since: {exc}", 2)


def _row(i: Incident) -> dict[str, Any]:
    from tagent.debrief.postmortem import durations

    return {"id": i.id, "rule": i.rule, "target": str(i.target), "kind": i.target.kind, "status": i.status.value,
            "severity": i.severity.value, "rules_version": i.rules_version, "opened_at": i.opened_at.isoformat(),
            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None, **durations(i)}


def incidents_list(status: str | None = typer.Option(None, "--status", help="open, mitigating, awaiting_ack, "
                                                      "resolved or failed"),
                   since: str = typer.Option("7d", "--since", help="opened within: 30m, 12h, 7d"),
                   limit: int = typer.Option(50, "--limit", min=1, max=10_000), db: str | None = DbOpt,
                   output: Output = OutputOpt) -> None:
    """List incidents, newest first."""
    from tagent.model import IncidentStatus

    try:
        wanted = IncidentStatus(status) if status else None
    except ValueError:
        fail(f"--status must be one of {', '.join(s.value for s in IncidentStatus)}", 2)
    with _store(db) as store:
        rows = [_row(i) for i in store.incidents.list(status=wanted, since=_since(since), limit=limit)]
    if output == Output.json:
        print_json(rows)
        return
    if not rows:
        print("no incident")
    for r in rows:
        print(f"{r['id']}  {r['opened_at'][:19]}  {r['severity']:<8} {r['status']:<12} {r['rule']} on {r['target']}")


def incidents_show(incident_id: str = typer.Argument(..., help="incident id"), db: str | None = DbOpt,
                   output: Output = OutputOpt) -> None:
    """One incident: its timeline and its post-mortem."""
    with _store(db) as store:
        incident = store.incidents.get(incident_id)
        if incident is None:
            fail(f"no incident {incident_id}")
        postmortem = store.postmortems.get(incident_id)
    if output == Output.json:
        print_json({**_row(incident), "timeline": [e.model_dump(mode="json") for e in incident.timeline],
                    "postmortem": postmortem.markdown if postmortem else None})
        return
    print(f"{incident.id}: {incident.rule} on {incident.target} [{incident.severity.value}, {incident.status.value}]")
    for e in sorted(incident.timeline, key=lambda e: e.at):
        print(f"  {e.at:%Y-%m-%d %H:%M:%S}  {e.kind:<12} {e.summary}")
    if postmortem is not None:
        print("\n" + postmortem.markdown)


def incidents_export(directory: Path = typer.Argument(..., help="where to write the Markdown files"),
                     since: str = typer.Option("30d", "--since"), db: str | None = DbOpt,
                     output: Output = OutputOpt) -> None:
    """Write the post-mortems as Markdown files (one per incident)."""
    from tagent.debrief.debrief import export_postmortems

    with _store(db) as store:
        try:
            paths = export_postmortems(store, directory, since=_since(since))
        except OSError as exc:
            fail(f"cannot write to {directory}: {exc.strerror or exc}")
    if output == Output.json:
        print_json([str(p) for p in paths])
    else:
        print(f"wrote {len(paths)} post-mortem(s) to {directory}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(name="incidents", help="Incidents from the store: list, show, export post-mortems.",
                        no_args_is_help=True)
    group.command("list")(incidents_list)
    group.command("show")(incidents_show)
    group.command("export")(incidents_export)
    app.add_typer(group, name="incidents")
    from tagent.cli import debrief_cmd

    debrief_cmd.register(app)  # `tagent debrief` (and `debrief ask`) lives in its own module
