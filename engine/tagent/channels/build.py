"""Build the channel bots from `ChannelSettings` and one app's engine and chat service (the routes' wiring)."""

from __future__ import annotations

from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import WebClient

from tagent.app.engine import Engine
from tagent.channels.alerts import IncidentAlerts
from tagent.channels.core import ChannelCore, ChatBackend
from tagent.channels.roles import Directory
from tagent.channels.settings import ChannelSettings
from tagent.channels.slack.bot import SlackBot
from tagent.channels.slack.socket import SlackSocket
from tagent.channels.teams.bot import TeamsBot
from tagent.channels.teams.connector import Connector
from tagent.channels.teams.verify import BotFrameworkAuth
from tagent.errors import ConfigError


def slack_bot(settings: ChannelSettings, engine: Engine, chat: ChatBackend) -> SlackBot:
    if settings.slack_signing_secret is None or settings.slack_bot_token is None:
        raise ConfigError("Slack is not configured: set TAGENT_SLACK_SIGNING_SECRET and TAGENT_SLACK_BOT_TOKEN")
    client = WebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url,
                       timeout=10)
    return SlackBot(ChannelCore(engine, chat),
                    Directory("slack", settings.slack_users, settings.slack_read_only_channels), client,
                    SignatureVerifier(settings.slack_signing_secret.get_secret_value()))


def slack_socket(settings: ChannelSettings, engine: Engine, chat: ChatBackend) -> SlackSocket | None:
    """Socket Mode when TAGENT_SLACK_APP_TOKEN is set (start() it; stop() at shutdown), else None."""
    if settings.slack_app_token is None:
        return None
    return SlackSocket(slack_bot(settings, engine, chat), settings.slack_app_token.get_secret_value())


def teams_bot(settings: ChannelSettings, engine: Engine, chat: ChatBackend) -> TeamsBot:
    if not settings.teams_app_id or settings.teams_app_password is None:
        raise ConfigError("Teams is not configured: set TAGENT_TEAMS_APP_ID and TAGENT_TEAMS_APP_PASSWORD")
    auth = BotFrameworkAuth(settings.teams_openid_url, audience=settings.teams_app_id)
    connector = Connector(settings.teams_token_url, settings.teams_app_id, settings.teams_app_password)
    return TeamsBot(ChannelCore(engine, chat), Directory("teams", settings.teams_users), auth, connector)


def incident_alerts(settings: ChannelSettings, slack: SlackBot | None, teams: TeamsBot | None) -> IncidentAlerts | None:
    """Alerts with buttons where the settings name a Slack channel or a Teams conversation, else None."""
    to_slack = slack is not None and bool(settings.slack_incident_channel)
    to_teams = teams is not None and bool(settings.teams_incident_service_url and settings.teams_incident_conversation)
    if not (to_slack or to_teams):
        return None
    return IncidentAlerts(slack=slack, slack_channel=settings.slack_incident_channel, teams=teams,
                          teams_service_url=settings.teams_incident_service_url,
                          teams_conversation=settings.teams_incident_conversation)
