"""Socket Mode (no ingress): Tagent dials Slack with the app token; a mention and its button click arrive as
envelopes over the WebSocket, are acknowledged, and scale the sandbox deployment like the HTTP routes do."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.channels.build import slack_socket
from tagent.channels.slack.socket import SlackSocket
from tests.api.conftest import wait_for
from tests.channels.conftest import Stands, buttons


@pytest.fixture
def socket(client: TestClient, engine: Engine, stands: Stands) -> Iterator[SlackSocket]:
    app = client.app
    built = slack_socket(app.state.channel_settings, engine, app.state.chat)  # type: ignore[attr-defined]
    assert built is not None
    built.start()
    try:
        wait_for(lambda: stands.socket.connections, timeout=10)
        yield built
    finally:
        built.stop()


def _envelope(kind: str, payload: dict) -> dict:
    return {"envelope_id": f"env-{time.time_ns()}", "type": kind, "payload": payload, "accepts_response_payload":
            kind != "events_api"}


def test_a_mention_and_a_click_over_socket_mode_scale_the_deployment(
        socket: SlackSocket, stands: Stands, engine: Engine) -> None:
    assert [c.method for c in stands.slack.calls] == ["apps.connections.open"]
    mention = _envelope("events_api", {"type": "event_callback", "event_id": "EvSock1", "event": {
        "type": "app_mention", "user": "U0OPS", "text": "<@U0TAGENT> scale cart in shop to 4", "channel": "C0OPS",
        "ts": "1700000001.000100"}})
    stands.socket.push(mention)
    posted = wait_for(lambda: stands.slack.named("chat.postMessage"), timeout=15)
    assert isinstance(posted, list)
    args = posted[-1].args
    assert args["thread_ts"] == "1700000001.000100"
    assert any(a.get("envelope_id") == mention["envelope_id"] for a in stands.socket.acks)
    token = buttons(args["blocks"])["chat.confirm"]
    assert engine.kube.get_deployment("shop", "cart").replicas == 2

    click = _envelope("interactive", {"type": "block_actions", "user": {"id": "U0OPS"}, "channel": {"id": "C0OPS"},
                                      "message": {"ts": "1700000001.000200", "text": args["text"]},
                                      "actions": [{"action_id": "chat.confirm", "value": token}]})
    stands.socket.push(click)
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").replicas == 4, timeout=20)
    updated = wait_for(lambda: stands.slack.named("chat.update"), timeout=10)
    assert isinstance(updated, list) and "confirmed by asha" in updated[-1].args["text"]


def test_a_slash_command_is_answered_in_its_ack(socket: SlackSocket, stands: Stands) -> None:
    command = _envelope("slash_commands", {"command": "/tagent", "text": "how many nodes are running?",
                                           "user_id": "U0READ", "channel_id": "C0OPS"})
    stands.socket.push(command)
    ack = wait_for(lambda: [a for a in stands.socket.acks if a.get("envelope_id") == command["envelope_id"]],
                   timeout=15)
    assert isinstance(ack, list)
    assert "3" in json.dumps(ack[0]["payload"]["text"])
