"""Teams against the sandbox: activities signed by a local Bot Framework issuer (same JWT validation path),
replies and card updates through the connector REST API, the same roles as Slack."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for
from tests.channels.conftest import APP_ID, Stands


def _activity(stands: Stands, sender: str, text: str = "", value: dict[str, Any] | None = None,
              reply_to: str = "") -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": "message", "id": f"msg-{time.time_ns()}", "serviceUrl": stands.connector_url,
        "channelId": "msteams", "from": {"id": sender, "name": sender}, "conversation": {"id": "19:ops@thread"},
        "recipient": {"id": f"28:{APP_ID}"}, "text": text}
    if value is not None:
        activity["value"] = value
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


def _send(client: TestClient, stands: Stands, activity: dict[str, Any], token: str | None = None) -> int:
    bearer = token if token is not None else stands.issuer.sign(stands.connector_url)
    return client.post("/api/teams/messages", json=activity,
                       headers={"Authorization": f"Bearer {bearer}"} if bearer else {}).status_code


def _card(call_args: dict[str, Any]) -> dict[str, Any]:
    return call_args["activity"]["attachments"][0]["content"]  # type: ignore[no-any-return]


def _submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["data"]["tagent"] for a in card.get("actions", [])]


def test_an_activity_without_a_valid_token_gets_401_and_changes_nothing(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    activity = _activity(stands, "29:ops", "<at>Tagent</at> scale cart in shop to 5")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "none": "",
        "garbage": "not.a.jwt",
        "other key": stands.issuer.sign(stands.connector_url, key=other_key),
        "unknown kid": stands.issuer.sign(stands.connector_url, kid="nope"),
        "wrong audience": stands.issuer.sign(stands.connector_url, audience="someone-else"),
        "wrong issuer": stands.issuer.sign(stands.connector_url, issuer="https://evil.example"),
        "expired": stands.issuer.sign(stands.connector_url, expires_in=-400),
        "other serviceUrl": stands.issuer.sign("https://evil.example/connector"),
    }
    for name, token in bad.items():
        assert _send(client, stands, activity, token) == 401, name
    # a valid token whose key is not endorsed for the activity's channel
    assert _send(client, stands, {**activity, "channelId": "skype"}) == 401
    assert stands.connector.calls == []
    assert engine.kube.get_deployment("shop", "cart").replicas == 2


def test_an_activity_from_any_channel_the_key_is_endorsed_for_is_accepted(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    activity = _activity(stands, "29:ops", "<at>Tagent</at> how many pods in shop?")
    assert stands.issuer.endorsements == ["msteams", "webchat"]
    assert _send(client, stands, activity) == 200
    assert _send(client, stands, {**activity, "channelId": "webchat"}) == 200
    assert _send(client, stands, {**activity, "channelId": "slack"}) == 401


def test_a_mention_scales_after_an_allowed_click_and_not_for_readers(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    assert _send(client, stands, _activity(stands, "29:read", "<at>Tagent</at> scale cart in shop to 3")) == 200
    refused = stands.connector.named("reply")[-1].args
    assert "may read but not change" in _card(refused)["body"][0]["text"]
    assert _submits(_card(refused)) == []

    asked = _activity(stands, "29:ops", "<at>Tagent</at> kindly scale cart in shop to 3")
    assert _send(client, stands, asked) == 200
    reply = stands.connector.named("reply")[-1].args
    assert reply["reply_to"] == asked["id"]  # answered in the thread
    card = _card(reply)
    assert "kubectl scale deployment/cart -n shop --replicas=3" in json.dumps(card)
    confirm = next(s for s in _submits(card) if s["do"] == "confirm")
    card_id = reply["id"]

    _send(client, stands, _activity(stands, "29:read", value={"tagent": confirm}, reply_to=card_id))
    assert "ravi may not confirm changes" in json.dumps(stands.connector.named("reply")[-1].args)
    assert engine.kube.get_deployment("shop", "cart").replicas == 2
    assert stands.connector.named("update") == []

    _send(client, stands, _activity(stands, "29:ops", value={"tagent": confirm}, reply_to=card_id))
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").replicas == 3)
    update = stands.connector.named("update")[-1].args
    assert update["id"] == card_id
    assert "confirmed by asha" in _card(update)["body"][0]["text"] and _submits(_card(update)) == []


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_an_incident_cards_approve_runs_the_waiting_playbook(
        request: pytest.FixtureRequest, rules_dir: Path, sandbox: Sandbox) -> None:
    path = rules_dir / "rules" / "crashloop-restart.yaml"
    path.write_text(path.read_text().replace("mode: auto", "mode: approve"))
    engine: Engine = request.getfixturevalue("engine")
    client: TestClient = request.getfixturevalue("client")
    stands: Stands = request.getfixturevalue("stands")
    sandbox.inject("crashloop", "shop", "cart")

    def waiting() -> str | None:
        for incident in engine.store.incidents.list():
            if incident.target.name == "cart" and engine.store.approvals.pending(incident_id=incident.id):
                return incident.id
        return None

    incident_id = wait_for(waiting, timeout=30)
    assert isinstance(incident_id, str)
    _send(client, stands, _activity(stands, "29:read", "<at>Tagent</at> how many nodes are running?"))
    assert "3" in _card(stands.connector.named("reply")[-1].args)["body"][0]["text"]
    card_id = client.app.state.teams_bot.post_incident(  # type: ignore[attr-defined]
        stands.connector_url, "19:incidents@thread", incident_id)
    assert card_id
    alert = _card(stands.connector.named("reply")[-1].args)
    assert {s["action"] for s in _submits(alert)} == {"ack", "approve", "deny", "fix_now"}
    approve = next(s for s in _submits(alert) if s["action"] == "approve")
    before = engine.kube.get_deployment("shop", "cart").revision

    _send(client, stands, _activity(stands, "29:ops", value={"tagent": approve}, reply_to=card_id))
    assert "asha may not approve" in json.dumps(stands.connector.named("update")[-1].args)
    assert engine.store.approvals.pending(incident_id=incident_id)

    _send(client, stands, _activity(stands, "29:boss", value={"tagent": approve}, reply_to=card_id))
    assert "Approved by bob" in json.dumps(stands.connector.named("update")[-1].args)
    found = engine.store.incidents.get(incident_id)
    assert found is not None and any(e.summary == "approved by bob" for e in found.timeline)
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").revision > before, timeout=30)


def test_garbage_activities_change_nothing(client: TestClient, stands: Stands, engine: Engine) -> None:
    token = stands.issuer.sign(stands.connector_url)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/teams/messages", content=b"not json", headers=headers).status_code == 400
    assert client.post("/api/teams/messages", content=b"[]", headers=headers).status_code == 400
    for activity in ({"type": "message", "serviceUrl": stands.connector_url},  # no conversation, no sender
                     {"type": "conversationUpdate", "serviceUrl": stands.connector_url},
                     _activity(stands, "29:boss", value={"tagent": {"do": "incident", "action": "explode"}}),
                     _activity(stands, "29:boss", value={"tagent": {"do": "confirm", "token": "forged"}})):
        assert client.post("/api/teams/messages", json=activity, headers=headers).status_code == 200
    assert engine.kube.get_deployment("shop", "cart").replicas == 2
    assert [c.method for c in stands.connector.calls] == ["reply"]  # only the forged token's refusal
    assert "Unknown confirmation" in json.dumps(stands.connector.calls[0].args)


def test_a_delete_needs_the_name_typed_into_the_card(client: TestClient, stands: Stands, engine: Engine) -> None:
    asked = _activity(stands, "29:ops", "<at>Tagent</at> delete deployment frontend in shop")
    _send(client, stands, asked)
    reply = stands.connector.named("reply")[-1].args
    card = _card(reply)
    assert any(b.get("type") == "Input.Text" and b.get("id") == "typed_name" for b in card["body"])
    confirm = next(s for s in _submits(card) if s["do"] == "confirm")
    _send(client, stands, _activity(stands, "29:ops", value={"tagent": confirm, "typed_name": "frontent"},
                                    reply_to=reply["id"]))
    assert "type the name frontend exactly" in json.dumps(stands.connector.named("reply")[-1].args)
    assert stands.connector.named("update") == []  # the card keeps its buttons: the token is still good
    assert engine.kube.get_deployment("shop", "frontend").replicas == 3
    _send(client, stands, _activity(stands, "29:ops", value={"tagent": confirm, "typed_name": "frontend"},
                                    reply_to=reply["id"]))
    assert "Done" in json.dumps(stands.connector.named("update")[-1].args)
    names = wait_for(lambda: "frontend" not in {w.ref.name for w in engine.kube.list_workloads()}, timeout=20)
    assert names
