"""Who may do what from chat: settings from the environment, unknown users read, read-only channels."""

from __future__ import annotations

import pytest

from tagent.channels.roles import Directory, Role
from tagent.channels.settings import ChannelSettings
from tagent.errors import ConfigError
from tagent.settings import Settings


def test_settings_read_the_maps_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGENT_SLACK_USERS", '{"U1": "asha:operate", "bob@example.com": "bob:approve"}')
    monkeypatch.setenv("TAGENT_SLACK_READ_ONLY_CHANNELS", '["C0READ"]')
    monkeypatch.setenv("TAGENT_SLACK_SIGNING_SECRET", "s3cret")
    settings = ChannelSettings.from_settings(Settings())  # Settings is the one reader of the environment
    assert settings.slack_users["U1"] == "asha:operate"
    assert "s3cret" not in repr(settings)  # secrets stay masked
    directory = Directory("slack", settings.slack_users, settings.slack_read_only_channels)
    assert directory.person("U1").role is Role.operate and directory.person("U1").user == "asha"
    assert directory.person("U9", email="BOB@example.com").role is Role.approve
    assert directory.person("U1", where="C0READ").role is Role.read
    stranger = directory.person("U7")
    assert stranger.role is Role.read and stranger.user == "slack:U7"
    assert not stranger.may(Role.operate) and directory.person("U9", email="bob@example.com").may(Role.operate)


@pytest.mark.parametrize("grant", ["asha:admin", "asha", ":operate", "asha:"])
def test_a_bad_grant_is_one_line_at_start(grant: str) -> None:
    with pytest.raises(ConfigError, match="expected 'user:role'"):
        ChannelSettings(teams_users={"29:x": grant})


def test_channel_settings_never_read_the_environment_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGENT_SLACK_INCIDENT_CHANNEL", "C0ENV")
    assert ChannelSettings().slack_incident_channel is None
    assert ChannelSettings.from_settings(Settings()).slack_incident_channel == "C0ENV"
