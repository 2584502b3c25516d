"""create_app wires the channels from Settings: the channel settings the routes read, the bots, incident alerts
chained onto the incident service (once, however many apps wrap the engine) and Socket Mode started with the app
and stopped with it. A real crash loop's incident is posted to the incident channel by the engine itself."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.app.engine import Engine
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tests.api.conftest import wait_for
from tests.channels.conftest import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, USERS, Stands, buttons


def slack_settings(settings: Settings, stands: Stands) -> Settings:
    return settings.model_copy(update={
        "slack_signing_secret": SecretStr(SIGNING_SECRET), "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_app_token": SecretStr(APP_TOKEN), "slack_api_url": f"{stands.slack_url}/api/", "slack_users": USERS,
        "slack_incident_channel": "C0INCIDENTS"})


def test_without_channel_settings_nothing_is_built(engine: Engine, engine_settings: Settings) -> None:
    app = create_app(engine, settings=engine_settings)
    assert app.state.channel_settings.slack_bot_token is None
    assert not hasattr(app.state, "slack_bot") and not hasattr(app.state, "slack_socket")


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_settings_wire_slack_socket_mode_and_incident_alerts(
        request: pytest.FixtureRequest, engine_settings: Settings, stands: Stands, sandbox: Sandbox) -> None:
    engine: Engine = request.getfixturevalue("engine")
    settings = slack_settings(engine_settings, stands)
    app = create_app(engine, settings=settings)
    create_app(engine, settings=settings)  # a second app around the same engine adds no second alert
    assert app.state.channel_settings.slack_incident_channel == "C0INCIDENTS"
    assert app.state.slack_bot is not None
    with TestClient(app):
        assert wait_for(lambda: stands.socket.connections, timeout=10)  # Socket Mode dialled at start
        sandbox.inject("crashloop", "shop", "cart")

        def alerts() -> list[dict]:
            return [c.args for c in stands.slack.named("chat.postMessage") if c.args.get("channel") == "C0INCIDENTS"]

        posted = wait_for(alerts, timeout=40)
        assert isinstance(posted, list)
        assert set(buttons(posted[0]["blocks"])) >= {"incident.ack", "incident.approve"}
        incident_ids = {i.id for i in engine.store.incidents.list() if i.target.name == "cart"}
        assert any(i in posted[0]["text"] or i in str(posted[0]["blocks"]) for i in incident_ids)
        time.sleep(2)  # time for a second, duplicated post to arrive
        assert len(alerts()) == len(incident_ids)
    assert app.state.slack_socket.client.closed  # stopped with the app


def test_a_bad_grant_in_settings_fails_the_app_in_one_line(engine: Engine, engine_settings: Settings,
                                                            tmp_path: Path) -> None:
    from tagent.errors import ConfigError

    bad = engine_settings.model_copy(update={"slack_users": {"U1": "asha:admin"}})
    with pytest.raises(ConfigError, match="expected 'user:role'"):
        create_app(engine, settings=bad)
