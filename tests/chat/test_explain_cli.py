"""Issue 16: `tagent chat` tells times in the team's zone: the rules' escalation policy (the default pack's
Asia/Kolkata), not the server's UTC. In-process through typer's CliRunner with a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tagent.debrief.localtime import stamp
from tagent.store import Store
from tests.chat.test_cli_chat import in_process
from tests.chat.test_explain import IST, crash

REPO = Path(__file__).resolve().parents[2]


def test_tagent_chat_explains_an_incident_in_the_rules_zone(kubeconfig: Path, tmp_path: Path) -> None:
    broke = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    incident = crash("payment-service", broke, "panic: nil map in charge()")
    with Store.open(f"sqlite:///{tmp_path / 'chat.db'}") as store:
        store.incidents.open(incident)

    ran = in_process(kubeconfig, tmp_path, f"explain incident {incident.id}", env={"TAGENT_RULES": str(REPO)})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert stamp(broke, IST) in ran.stdout and "IST" in ran.stdout, ran.stdout
    assert "panic: nil map in charge()" in ran.stdout

    utc = in_process(kubeconfig, tmp_path, f"explain incident {incident.id}",
                     env={"TAGENT_RULES": str(tmp_path / "no-such-rules")})  # no policy: UTC, said so
    assert utc.returncode == 0 and stamp(broke, UTC) in utc.stdout and "IST" not in utc.stdout, utc.stdout
