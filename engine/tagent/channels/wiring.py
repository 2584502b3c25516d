"""The channels in one API app: `attach_channels(app, engine, settings, chat)` (called by `create_app`).

- `app.state.channel_settings`: `ChannelSettings.from_settings(settings)` (the routes build their bots from it);
- the Slack and Teams bots, built at once when their settings are complete (else the routes answer 503);
- incident alerts with buttons (`incident_alerts`) chained onto the incident service's `on_open`, once per
  incident service however many apps are built around one engine;
- Socket Mode (TAGENT_SLACK_APP_TOKEN) started with the app and stopped at its shutdown (the app's lifespan).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from tagent.app.engine import Engine
from tagent.channels.alerts import IncidentAlerts
from tagent.channels.build import incident_alerts, slack_bot, teams_bot
from tagent.channels.core import ChatBackend
from tagent.channels.settings import ChannelSettings
from tagent.channels.slack.bot import SlackBot
from tagent.channels.slack.socket import SlackSocket
from tagent.channels.teams.bot import TeamsBot
from tagent.settings import Settings

log = logging.getLogger("tagent.channels")
_ALERTED: weakref.WeakKeyDictionary[Any, IncidentAlerts] = weakref.WeakKeyDictionary()  # incident service -> alerts


def attach_channels(app: FastAPI, engine: Engine, settings: Settings, chat: ChatBackend) -> None:
    channels = ChannelSettings.from_settings(settings)
    app.state.channel_settings = channels
    slack: SlackBot | None = None
    teams: TeamsBot | None = None
    if channels.slack_signing_secret is not None and channels.slack_bot_token is not None:
        slack = app.state.slack_bot = slack_bot(channels, engine, chat)
    if channels.teams_app_id and channels.teams_app_password is not None:
        teams = app.state.teams_bot = teams_bot(channels, engine, chat)
    alerts = incident_alerts(channels, slack, teams)
    if alerts is not None and engine.incidents is not None and engine.incidents not in _ALERTED:
        _ALERTED[engine.incidents] = alerts
        engine.incidents.on_open = alerts.chain(engine.incidents.on_open)
    socket = SlackSocket(slack, channels.slack_app_token.get_secret_value()) \
        if slack is not None and channels.slack_app_token is not None else None
    if socket is None:
        return
    app.state.slack_socket = socket
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[Any]:
        try:
            socket.start()  # dials apps.connections.open; auto-reconnects afterwards
        except Exception:
            log.exception("slack: Socket Mode did not connect (the HTTP routes still work)")
        try:
            async with inner(served) as state:
                yield state
        finally:
            socket.stop()

    app.router.lifespan_context = lifespan
