"""The morning debrief, its audio (espeak-ng), post-mortem export, and the `tagent incidents|debrief` CLI."""

from __future__ import annotations

import json
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tagent.cli.main import app
from tagent.debrief.debrief import export_postmortems, night_debrief, speak
from tagent.incidents import Postmortems
from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.store import Store
from tests.actions.harness import sqlite_copy

NOW = datetime.now(UTC).replace(microsecond=0)


def add(store: Store, name: str, rule: str, status: IncidentStatus, opened: datetime, action: str,
        night: bool = False) -> Incident:
    target = WorkloadRef(namespace="shop", name=name)
    incident = Incident(fingerprint=f"{rule}/{target.key}", rule=rule, target=target, severity=Severity.critical,
                        rules_version="c0ffee1", opened_at=opened, timeline=[
                            TimelineEntry(at=opened - timedelta(seconds=4), kind="event", summary="crash",
                                          data={"reason": "CrashLoopBackOff", "message": "back-off"})])
    store.incidents.open(incident)
    if night:
        store.incidents.add_timeline(incident.id, TimelineEntry(
            at=opened + timedelta(minutes=5), kind="approval",
            summary="Night Mode: nobody acknowledged within 5m; Tagent remediates"))
    store.incidents.add_timeline(incident.id, TimelineEntry(
        at=opened + timedelta(seconds=6), kind="step", summary=f"{action}: ok",
        data={"action": action, "status": "ok", "step": "fix",
              "command": "kubectl rollout restart deployment/x -n shop"}))
    closed = store.incidents.set_status(incident.id, status, at=opened + timedelta(seconds=40),
                                        summary=f"{status.value}: done")
    assert closed is not None
    Postmortems(store, mask=lambda text: text).write(closed, opened + timedelta(seconds=40))
    return closed


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(sqlite_copy(tmp_path / "t.db"))
    add(s, "payment-service", "crashloop-restart", IncidentStatus.resolved, NOW - timedelta(hours=5),
        "kubernetes.rollout_restart")
    add(s, "frontend", "error-spike-rollback", IncidentStatus.resolved, NOW - timedelta(hours=3),
        "kubernetes.rollout_undo", night=True)
    add(s, "checkout", "bad-deploy-rollback", IncidentStatus.failed, NOW - timedelta(hours=2),
        "kubernetes.rollout_undo")
    add(s, "cart", "crashloop-restart", IncidentStatus.resolved, NOW - timedelta(days=2), "kubernetes.rollout_restart")
    return s


def test_the_debrief_tells_the_night_in_order(store: Store) -> None:
    d = night_debrief(store, NOW - timedelta(hours=12), NOW)
    assert d.text.startswith("Good morning.") and "3 incidents, 3 of them critical. 2 are resolved." in d.text
    pay, front, check = (d.text.index(n) for n in ("payment-service", "frontend", "checkout"))
    assert pay < front < check and "cart" not in d.text
    assert "restarted it, and it recovered after 44 seconds" in d.text
    assert "Nobody answered the call, so Tagent acted on its own" in d.text
    assert "the fix did not work. It needs a person" in d.text and "1 needs your attention" in d.text
    assert [i["target"] for i in d.incidents] == ["shop/payment-service", "shop/frontend", "shop/checkout"]


def test_an_empty_night(tmp_path: Path) -> None:
    with Store.open(sqlite_copy(tmp_path / "e.db")) as empty:
        assert "no incident" in night_debrief(empty, NOW - timedelta(hours=12), NOW).text


def test_spoken_to_a_wav_file(store: Store, tmp_path: Path) -> None:
    path = speak(night_debrief(store, NOW - timedelta(hours=12), NOW).text, tmp_path / "debrief.wav")
    with wave.open(str(path)) as w:
        assert w.getnframes() / w.getframerate() > 5  # seconds of speech


def test_postmortems_export_as_markdown(store: Store, tmp_path: Path) -> None:
    paths = export_postmortems(store, tmp_path / "pm")
    assert len(paths) == 4 and all(p.suffix == ".md" for p in paths)
    assert any("bad-deploy-rollback" in p.name for p in paths)
    text = next(p for p in paths if "bad-deploy" in p.name).read_text()
    assert text.startswith("# Post-mortem: bad-deploy-rollback on shop/checkout") and "a person must look" in text


def test_cli_incidents_and_debrief(store: Store, tmp_path: Path) -> None:
    db = str(store.db.url.render_as_string(hide_password=False))
    runner = CliRunner()
    listed = runner.invoke(app, ["incidents", "list", "--db", db, "--since", "12h", "--output", "json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["target"] for r in rows] == ["shop/checkout", "shop/frontend", "shop/payment-service"]
    shown = runner.invoke(app, ["incidents", "show", rows[0]["id"], "--db", db, "--output", "json"])
    body = json.loads(shown.stdout)
    assert body["status"] == "failed" and body["postmortem"].startswith("# Post-mortem")
    assert runner.invoke(app, ["incidents", "show", "nope", "--db", db]).exit_code == 1
    wav = tmp_path / "d.wav"
    spoken = runner.invoke(app, ["debrief", "--since", "12h", "--db", db, "--audio", str(wav), "--output", "json"])
    assert spoken.exit_code == 0, spoken.output
    # the greeting follows the team's local hour (issue 16), so any of the three
    assert json.loads(spoken.stdout)["text"].startswith(("Good morning", "Good afternoon", "Good evening"))
    assert wav.stat().st_size > 10_000
    bad = runner.invoke(app, ["debrief", "--since", "yesterday", "--db", db])
    assert bad.exit_code == 2 and "--since" in bad.stderr
    exported = runner.invoke(app, ["incidents", "export", str(tmp_path / "out"), "--db", db])
    assert exported.exit_code == 0 and len(list((tmp_path / "out").glob("*.md"))) == 4
