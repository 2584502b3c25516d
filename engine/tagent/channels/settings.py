"""The channels' settings: one plain model built from the application settings (`ChannelSettings.from_settings`;
`tagent.settings.Settings` carries the fields flat and is the only reader of the environment):

    TAGENT_SLACK_SIGNING_SECRET, TAGENT_SLACK_BOT_TOKEN, TAGENT_SLACK_API_URL (default https://slack.com/api/)
    TAGENT_SLACK_APP_TOKEN (xapp-...: Socket Mode instead of the HTTP routes, for clusters without ingress)
    TAGENT_SLACK_USERS='{"U012AB": "alice:operate", "bob@example.com": "bob:approve"}'   id or email -> user:role
    TAGENT_SLACK_READ_ONLY_CHANNELS='["C0READ"]'   TAGENT_SLACK_INCIDENT_CHANNEL=C0INCIDENTS
    TAGENT_TEAMS_APP_ID, TAGENT_TEAMS_APP_PASSWORD, TAGENT_TEAMS_OPENID_URL, TAGENT_TEAMS_TOKEN_URL
    TAGENT_TEAMS_USERS='{"29:1abc": "alice:approve"}'                                      AAD/Teams id -> user:role
    TAGENT_TEAMS_INCIDENT_SERVICE_URL, TAGENT_TEAMS_INCIDENT_CONVERSATION                  where incidents go

A user that is not mapped may read and nothing else.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tagent.channels.roles import parse_grant

BOT_FRAMEWORK_OPENID = "https://login.botframework.com/v1/.well-known/openidconfiguration"
BOT_FRAMEWORK_LOGIN = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # xapp-...: Socket Mode (no ingress needed)
    slack_api_url: str = "https://slack.com/api/"
    slack_users: dict[str, str] = Field(default_factory=dict)
    slack_read_only_channels: list[str] = Field(default_factory=list)
    slack_incident_channel: str | None = None  # where new incidents are posted with their buttons

    teams_app_id: str | None = None
    teams_app_password: SecretStr | None = None
    teams_openid_url: str = BOT_FRAMEWORK_OPENID
    teams_token_url: str = BOT_FRAMEWORK_LOGIN
    teams_users: dict[str, str] = Field(default_factory=dict)
    teams_incident_service_url: str | None = None  # the conversation's connector, from any activity's serviceUrl
    teams_incident_conversation: str | None = None

    @field_validator("slack_users", "teams_users")
    @classmethod
    def _grants(cls, value: dict[str, str]) -> dict[str, str]:
        for key, grant in value.items():
            parse_grant(key, grant)  # a bad role is a one-line error at start, not a refusal at 2 AM
        return value

    @classmethod
    def from_settings(cls, settings: Any) -> ChannelSettings:
        """The `slack_*` and `teams_*` fields of the application settings (absent ones keep their defaults)."""
        return cls(**{name: getattr(settings, name) for name in cls.model_fields
                      if getattr(settings, name, None) is not None})
