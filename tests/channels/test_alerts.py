"""End to end: a crash loop in the sandbox opens an incident whose rule waits for approval; Tagent posts the
alert to Slack and Teams by itself (IncidentAlerts on the incident manager's on_open hook), and bob's Approve
in Slack runs the waiting playbook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.channels.alerts import IncidentAlerts
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for
from tests.channels.conftest import Stands, buttons, click_body, post_signed


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_tagent_posts_the_alert_itself_and_approve_runs_the_playbook(
        request: pytest.FixtureRequest, rules_dir: Path, sandbox: Sandbox) -> None:
    path = rules_dir / "rules" / "crashloop-restart.yaml"
    path.write_text(path.read_text().replace("mode: auto", "mode: approve"))
    engine: Engine = request.getfixturevalue("engine")
    client: TestClient = request.getfixturevalue("client")
    stands: Stands = request.getfixturevalue("stands")
    post_signed(client, "/api/slack/events", json.dumps({"type": "url_verification", "challenge": "x"}).encode())
    client.post("/api/teams/messages", json={"type": "ping", "serviceUrl": stands.connector_url},
                headers={"Authorization": f"Bearer {stands.issuer.sign(stands.connector_url)}"})
    state = client.app.state  # type: ignore[attr-defined]
    alerts = IncidentAlerts(slack=state.slack_bot, slack_channel="C0INCIDENTS", teams=state.teams_bot,
                            teams_service_url=stands.connector_url, teams_conversation="19:incidents@thread")
    assert engine.incidents is not None
    engine.incidents.on_open = alerts.chain(engine.incidents.on_open)
    try:
        sandbox.inject("crashloop", "shop", "cart")
        posted = wait_for(lambda: [c for c in stands.slack.named("chat.postMessage")
                                   if c.args.get("channel") == "C0INCIDENTS"], timeout=40)
        assert isinstance(posted, list)
        alert = posted[0].args
        incident_id = buttons(alert["blocks"])["incident.approve"]
        assert "crashloop-restart" in alert["text"] and "shop/cart" in alert["text"]
        card = wait_for(lambda: stands.connector.named("reply"), timeout=20)
        assert isinstance(card, list) and incident_id in json.dumps(card[0].args)

        wait_for(lambda: engine.store.approvals.pending(incident_id=incident_id), timeout=30)
        before = engine.kube.get_deployment("shop", "cart").revision
        message = {"ts": "1700000000.000001", "text": alert["text"]}
        post_signed(client, "/api/slack/interactions", click_body("U0BOSS", "incident.approve", incident_id,
                                                                  message, "C0INCIDENTS"))
        assert "Approved by bob" in stands.slack.named("chat.update")[-1].args["text"]
        assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").revision > before, timeout=30)
    finally:
        alerts.close()
