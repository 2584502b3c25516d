"""Slack against the sandbox: signed requests only; a mention scales after an allowed click; read-only users
and channels change nothing; /tagent reads answer in the response; an incident's Approve runs its playbook."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for
from tests.channels.conftest import (
    Stands,
    buttons,
    click_body,
    event_body,
    post_signed,
    slack_headers,
)


def _mention(client: TestClient, stands: Stands, user: str, text: str, channel: str = "C0OPS") -> dict:
    before = len(stands.slack.named("chat.postMessage"))
    answer = post_signed(client, "/api/slack/events", event_body(user, text, channel))
    assert answer.status_code == 200, answer.text
    posted = stands.slack.named("chat.postMessage")
    assert len(posted) == before + 1
    return posted[-1].args


def test_unsigned_badly_signed_or_stale_requests_get_401_and_change_nothing(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    body = event_body("U0OPS", "scale cart in shop to 5")
    audit_before = len(engine.store.audit.list(limit=1000))
    cases = {
        "unsigned": {"Content-Type": "application/json"},
        "wrong secret": slack_headers(body, secret="not-the-secret"),
        "stale": slack_headers(body, at=time.time() - 310),
        "future": slack_headers(body, at=time.time() + 310),
        "garbage timestamp": {**slack_headers(body), "X-Slack-Request-Timestamp": "yesterday"},
    }
    for name, headers in cases.items():
        for path in ("/api/slack/events", "/api/slack/commands", "/api/slack/interactions"):
            answer = client.post(path, content=body, headers=headers)
            assert answer.status_code == 401, (name, path, answer.text)
    tampered = slack_headers(body)
    answer = client.post("/api/slack/events", content=body.replace(b"5", b"9"), headers=tampered)
    assert answer.status_code == 401
    assert stands.slack.calls == []
    assert engine.kube.get_deployment("shop", "cart").replicas == 2
    assert len(engine.store.audit.list(limit=1000)) == audit_before
    challenge = json.dumps({"type": "url_verification", "challenge": "abc123"}).encode()
    assert client.post("/api/slack/events", content=challenge).status_code == 401
    assert post_signed(client, "/api/slack/events", challenge).json() == {"challenge": "abc123"}


def test_a_mention_scales_after_the_requesters_click_and_nobody_elses(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    posted = _mention(client, stands, "U0OPS", "kindly scale cart in shop to 3")
    assert posted["thread_ts"]  # answered in the thread
    assert "kubectl scale deployment/cart -n shop --replicas=3" in json.dumps(posted["blocks"])
    token = buttons(posted["blocks"])["chat.confirm"]
    assert buttons(posted["blocks"])["chat.cancel"] == token
    message = {"ts": "1700000000.000001", "text": posted["text"]}
    assert engine.kube.get_deployment("shop", "cart").replicas == 2  # nothing ran yet

    for intruder in ("U0READ", "U0OPS2"):  # a reader may not; another operator may not use asha's token
        assert post_signed(client, "/api/slack/interactions",
                           click_body(intruder, "chat.confirm", token, message)).status_code == 200
        assert engine.kube.get_deployment("shop", "cart").replicas == 2
    refusals = [c.args["text"] for c in stands.slack.named("chat.postMessage")[1:]]
    assert "ravi may not confirm changes" in refusals[0]
    assert "belongs to someone else" in refusals[1]
    assert stands.slack.named("chat.update") == []

    assert post_signed(client, "/api/slack/interactions",
                       click_body("U0OPS", "chat.confirm", token, message)).status_code == 200
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").replicas == 3)
    updated = stands.slack.named("chat.update")[-1].args
    assert updated["ts"] == message["ts"] and updated["channel"] == "C0OPS"
    assert updated["text"].startswith("Done:") and "confirmed by asha" in updated["text"]
    assert buttons(updated["blocks"]) == {}  # the buttons are gone

    post_signed(client, "/api/slack/interactions", click_body("U0OPS", "chat.confirm", token, message))
    assert "already used" in stands.slack.named("chat.update")[-1].args["text"]


def test_an_approver_may_confirm_someone_elses_request_and_is_named(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    posted = _mention(client, stands, "U0OPS", "scale cart in shop to 3")
    token = buttons(posted["blocks"])["chat.confirm"]
    message = {"ts": "1700000000.000003", "text": posted["text"]}
    post_signed(client, "/api/slack/interactions", click_body("U0BOSS", "chat.confirm", token, message))
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").replicas == 3)
    assert "confirmed by bob" in stands.slack.named("chat.update")[-1].args["text"]
    audit = engine.store.audit.list(limit=50)
    assert any(a.actor == "chat:bob" and a.action == "chat.confirm" and a.result == "done" for a in audit)
    assert any(a.actor == "chat:asha" and a.action == "chat.request" for a in audit)


def test_read_only_users_and_channels_are_refused_before_any_button(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    for user, channel in (("U0READ", "C0OPS"), ("U0STRANGER", "C0OPS"), ("U0OPS", "C0READONLY")):
        posted = _mention(client, stands, user, "scale cart in shop to 4", channel)
        assert posted["text"].startswith("Refused:") and "may read but not change" in posted["text"]
        assert buttons(posted["blocks"]) == {}
    assert engine.kube.get_deployment("shop", "cart").replicas == 2
    read = _mention(client, stands, "U0READ", "how many nodes are running?")
    assert "3" in read["text"] and buttons(read["blocks"]) == {}


def test_a_read_only_slash_command_is_answered_in_the_response(client: TestClient, stands: Stands) -> None:
    body = urlencode({"command": "/tagent", "text": "how many nodes are running?", "user_id": "U0READ",
                      "channel_id": "C0OPS", "response_url": "http://127.0.0.1:9/unused"}).encode()
    started = time.monotonic()
    answer = post_signed(client, "/api/slack/commands", body)
    assert answer.status_code == 200
    assert time.monotonic() - started < 3  # Slack waits three seconds
    assert answer.json()["response_type"] == "in_channel"
    assert "3" in answer.json()["text"]
    assert stands.slack.calls == []  # nothing else was needed
    change = urlencode({"command": "/tagent", "text": "restart checkout in shop", "user_id": "U0OPS",
                        "channel_id": "C0OPS"}).encode()
    confirm = post_signed(client, "/api/slack/commands", change).json()
    assert set(buttons(confirm["blocks"])) == {"chat.confirm", "chat.cancel"}


def test_a_command_slower_than_its_budget_is_acknowledged_then_answered_at_its_response_url(
        client: TestClient, stands: Stands) -> None:
    post_signed(client, "/api/slack/events", json.dumps({"type": "url_verification", "challenge": "x"}).encode())
    client.app.state.slack_bot.command_budget = 0.0  # type: ignore[attr-defined]  # every command is "slow"
    body = urlencode({"command": "/tagent", "text": "how many nodes are running?", "user_id": "U0READ",
                      "channel_id": "C0OPS", "response_url": f"{stands.slack_url}/commands/c1"}).encode()
    answer = post_signed(client, "/api/slack/commands", body).json()
    assert answer["response_type"] == "ephemeral" and "Working on it" in answer["text"]
    later = wait_for(lambda: stands.slack.named("response_url"), timeout=15)
    assert isinstance(later, list)
    assert later[0].args["id"] == "c1" and "3" in later[0].args["text"]
    assert later[0].args["response_type"] == "in_channel"


def test_a_delete_asks_for_the_name_through_a_modal(client: TestClient, stands: Stands, engine: Engine) -> None:
    posted = _mention(client, stands, "U0OPS", "delete deployment frontend in shop")
    token = buttons(posted["blocks"])["chat.delete"]
    message = {"ts": "1700000000.000009", "text": posted["text"]}
    post_signed(client, "/api/slack/interactions", click_body("U0OPS", "chat.delete", token, message))
    view = stands.slack.named("views.open")[-1].args["view"]
    assert view["callback_id"] == "chat.delete" and "frontend" in json.dumps(view["blocks"])

    def submit(typed: str) -> None:
        payload = {"type": "view_submission", "user": {"id": "U0OPS"}, "view": {
            "callback_id": "chat.delete", "private_metadata": view["private_metadata"],
            "state": {"values": {"name": {"typed": {"type": "plain_text_input", "value": typed}}}}}}
        answer = post_signed(client, "/api/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())
        assert answer.json() == {"response_action": "clear"}

    submit("frontent")
    assert "type the name frontend exactly" in stands.slack.named("chat.postMessage")[-1].args["text"]
    assert stands.slack.named("chat.update") == []  # the plan keeps its buttons: the token is still good
    assert engine.kube.get_deployment("shop", "frontend").replicas >= 1  # still there
    submit("frontend")
    assert stands.slack.named("chat.update")[-1].args["text"].startswith("Done")
    assert wait_for(lambda: "frontend" not in {w.ref.name for w in engine.kube.list_workloads()}, timeout=20)


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_an_incident_alerts_approve_button_runs_the_waiting_playbook(
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
    bot = client.app.state.slack_bot if hasattr(client.app.state, "slack_bot") else None  # type: ignore[attr-defined]
    if bot is None:  # built on first use: any verified request builds it
        post_signed(client, "/api/slack/events", json.dumps({"type": "url_verification", "challenge": "x"}).encode())
        bot = client.app.state.slack_bot  # type: ignore[attr-defined]
    ts = bot.post_incident("C0INCIDENTS", incident_id)
    alert = stands.slack.named("chat.postMessage")[-1].args
    assert set(buttons(alert["blocks"])) == {"incident.ack", "incident.approve", "incident.deny", "incident.fix_now"}
    message = {"ts": ts, "text": alert["text"]}
    before = engine.kube.get_deployment("shop", "cart").revision

    post_signed(client, "/api/slack/interactions", click_body("U0OPS", "incident.approve", incident_id, message,
                                                              "C0INCIDENTS"))
    assert "asha may not approve" in stands.slack.named("chat.update")[-1].args["text"]
    assert engine.store.approvals.pending(incident_id=incident_id)  # still waiting

    post_signed(client, "/api/slack/interactions", click_body("U0BOSS", "incident.approve", incident_id, message,
                                                              "C0INCIDENTS"))
    update = stands.slack.named("chat.update")[-1].args
    assert update["ts"] == ts and "Approved by bob" in update["text"]
    found = engine.store.incidents.get(incident_id)
    assert found is not None and any(e.summary == "approved by bob" for e in found.timeline)
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").revision > before, timeout=30)


def test_signed_garbage_is_refused_in_one_line_and_changes_nothing(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    for path, body in (("/api/slack/events", b"not json"), ("/api/slack/events", b"[1, 2]"),
                       ("/api/slack/interactions", b"payload=%7Bnope"), ("/api/slack/interactions", b"x=1")):
        answer = post_signed(client, path, body)
        assert answer.status_code == 400, (path, body, answer.text)
        assert answer.json() == {"detail": "the body is not a JSON object"}
    odd = [{"type": "event_callback", "event": "text"}, {"type": "event_callback", "event": {"type": "app_mention"}},
           {"type": "something_else"}]
    for payload in odd:
        assert post_signed(client, "/api/slack/events", json.dumps(payload).encode()).status_code == 200
    clicks = [{"type": "block_actions", "actions": [{"action_id": "incident.explode", "value": "x"}],
               "user": {"id": "U0BOSS"}, "channel": {"id": "C0OPS"}},
              {"type": "block_actions", "actions": [{"action_id": "incident.approve", "value": "no-such-incident"}],
               "user": {"id": "U0BOSS"}, "channel": {"id": "C0OPS"}},
              {"type": "block_actions", "actions": [{"action_id": "chat.confirm", "value": "forged-token"}],
               "user": {"id": "U0OPS"}, "channel": {"id": "C0OPS"}, "message": {"ts": "1.2", "text": "x"}},
              {"type": "view_submission", "user": {"id": "U0OPS"}, "view": {"callback_id": "chat.delete",
                                                                           "private_metadata": "{broken"}}]
    for payload in clicks:
        answer = post_signed(client, "/api/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())
        assert answer.status_code == 200
    assert engine.kube.get_deployment("shop", "cart").replicas == 2
    texts = [c.args.get("text", "") for c in stands.slack.calls]
    assert any("No incident no-such-incident" in t for t in texts)
    assert any("Unknown confirmation" in t for t in texts)


def test_two_requests_in_one_mention_become_two_confirmations(
        client: TestClient, stands: Stands, engine: Engine) -> None:
    before = engine.kube.get_deployment("shop", "checkout").revision
    post_signed(client, "/api/slack/events", event_body("U0OPS", "restart checkout and then scale cart to 3"))
    posted = [c.args for c in stands.slack.named("chat.postMessage")]
    assert len(posted) == 3 and posted[0]["text"].startswith("I read 2 requests")
    restart, scale = (buttons(p["blocks"])["chat.confirm"] for p in posted[1:])
    assert "rollout restart deployment/checkout" in json.dumps(posted[1]["blocks"])
    assert "--replicas=3" in json.dumps(posted[2]["blocks"]) and restart != scale
    post_signed(client, "/api/slack/interactions",
                click_body("U0OPS", "chat.confirm", scale, {"ts": "1.000002", "text": posted[2]["text"]}))
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").replicas == 3)
    assert engine.kube.get_deployment("shop", "checkout").revision == before  # only what was confirmed ran
