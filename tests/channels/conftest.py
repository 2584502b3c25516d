"""A real Engine on the sandbox with its API (tests/api/conftest.py), the Slack and Teams routes, and the
local stand-ins they talk to. Users: asha and meera operate, bob approves, ravi reads; C0READONLY is a
read-only channel."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.api.routes import slack, teams
from tagent.app.engine import Engine
from tagent.channels.settings import ChannelSettings
from tagent.settings import Settings
from tests.api.conftest import engine, engine_settings, rules_dir  # noqa: F401  (fixtures)
from tests.api.server import serve
from tests.channels.standins import BotFrameworkIssuer, Connector, SlackApi, SocketModeServer

SIGNING_SECRET = "slack-signing-secret-for-tests"
BOT_TOKEN = "xoxb-test-bot-token"
APP_TOKEN = "xapp-test-app-token"
APP_ID = "00000000-app-id-for-tests"
APP_PASSWORD = "teams-app-password-for-tests"
USERS = {"U0OPS": "asha:operate", "U0OPS2": "meera:operate", "U0BOSS": "bob:approve", "U0READ": "ravi:read"}
TEAMS_USERS = {"29:ops": "asha:operate", "29:boss": "bob:approve", "29:read": "ravi:read"}


class Stands:
    def __init__(self, stack: ExitStack) -> None:
        self.socket = SocketModeServer()
        stack.callback(self.socket.close)
        self.slack = SlackApi(BOT_TOKEN, APP_TOKEN, self.socket.url)
        self.issuer = BotFrameworkIssuer(APP_ID, APP_PASSWORD)
        self.connector = Connector(self.issuer)
        self.slack_url = stack.enter_context(serve(self.slack.app))
        self.issuer.url = stack.enter_context(serve(self.issuer.app))
        self.connector_url = stack.enter_context(serve(self.connector.app))


@pytest.fixture
def stands() -> Iterator[Stands]:
    with ExitStack() as stack:
        yield Stands(stack)


def channel_app(engine: Engine, settings: Settings, stands: Stands) -> FastAPI:  # noqa: F811
    app = create_app(engine, settings=settings)
    paths = {getattr(r, "path", "") for r in app.routes}
    for module in (slack, teams):
        if not any(str(p).startswith(module.router.prefix) for p in paths):  # until app.py registers them
            app.include_router(module.router)
    app.state.channel_settings = ChannelSettings(
        slack_signing_secret=SecretStr(SIGNING_SECRET), slack_bot_token=SecretStr(BOT_TOKEN),
        slack_app_token=SecretStr(APP_TOKEN),
        slack_api_url=f"{stands.slack_url}/api/", slack_users=USERS, slack_read_only_channels=["C0READONLY"],
        teams_app_id=APP_ID, teams_app_password=SecretStr(APP_PASSWORD), teams_openid_url=stands.issuer.openid_url,
        teams_token_url=f"{stands.issuer.url}/token", teams_users=TEAMS_USERS)
    return app


@pytest.fixture
def client(engine: Engine, engine_settings: Settings, stands: Stands) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(channel_app(engine, engine_settings, stands), raise_server_exceptions=True) as c:
        yield c


def slack_headers(body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None,
                  content_type: str = "application/json") -> dict[str, str]:
    """What Slack sends: v0=HMAC-SHA256(secret, 'v0:<timestamp>:<body>')."""
    ts = str(int(at if at is not None else time.time()))
    mac = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={mac}", "Content-Type": content_type}


def event_body(user: str, text: str, channel: str = "C0OPS", event_id: str | None = None) -> bytes:
    ts = f"{time.time():.6f}"
    return json.dumps({"type": "event_callback", "event_id": event_id or f"Ev{time.time_ns()}", "event": {
        "type": "app_mention", "user": user, "text": f"<@U0TAGENT> {text}", "channel": channel, "ts": ts}}).encode()


def click_body(user: str, action_id: str, value: str, message: dict[str, Any], channel: str = "C0OPS") -> bytes:
    payload = {"type": "block_actions", "user": {"id": user}, "channel": {"id": channel}, "trigger_id": "trig-1",
               "message": message, "actions": [{"action_id": action_id, "value": value, "type": "button"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def post_signed(client: TestClient, path: str, body: bytes, **kwargs: Any) -> Any:
    ctype = "application/json" if path.endswith("events") else "application/x-www-form-urlencoded"
    return client.post(path, content=body, headers=slack_headers(body, content_type=ctype, **kwargs))


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """action_id -> value of every button in a message."""
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
