"""Notifier through the real apprise library against local Slack/Teams/JSON receivers."""

from __future__ import annotations

import logging
import socket

import pytest
from pydantic import SecretStr

from tagent.errors import ConfigError
from tagent.notify import DeliveryError, Notifier, NotifyKind
from tagent.sandbox.receivers import WebhookReceiver


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def notifier(urls: dict[str, str], clock: FakeClock | None = None, **options: float) -> Notifier:
    clock = clock or FakeClock()
    options.setdefault("min_interval", 0.0)
    return Notifier({k: SecretStr(v) for k, v in urls.items()}, sleep=clock.sleep, clock=clock, **options)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_messages_arrive_in_slack_teams_and_json_formats(hooks: WebhookReceiver, teams: WebhookReceiver) -> None:
    urls = {"slack-oncall": hooks.slack_url(), "teams-sre": teams.teams_url(), "audit": hooks.json_url("/audit")}
    with notifier(urls) as n:
        results = n.send(["slack-oncall", "teams-sre", "audit"], "[CRITICAL] payment-service crash-looping",
                         "What happened: CrashLoopBackOff", "http://dash/?incident=abc", kind=NotifyKind.failure)
    assert [(r.route, r.delivered, r.attempts) for r in results] == [
        ("slack-oncall", True, 1), ("teams-sre", True, 1), ("audit", True, 1)]
    by_channel = {m.channel: m for m in hooks.messages() + teams.messages()}
    assert set(by_channel) == {"slack", "teams", "json"}
    slack = by_channel["slack"]
    assert slack.request.json() == {"text": slack.text}  # exactly Slack's incoming-webhook body
    assert "CrashLoopBackOff" in slack.text and "http://dash/?incident=abc" in slack.text
    assert by_channel["teams"].title == "[CRITICAL] payment-service crash-looping"
    assert "http://dash/?incident=abc" in by_channel["teams"].text
    assert by_channel["json"].request.json()["type"] == "failure"
    assert by_channel["json"].request.path == "/audit"


def test_a_failing_channel_is_retried_with_backoff(hooks: WebhookReceiver) -> None:
    clock = FakeClock()
    hooks.fail_next(2, status=500)
    with notifier({"slack": hooks.slack_url()}, clock, attempts=3, backoff=0.5) as n:
        [result] = n.send(["slack"], "t", "b", "")
    assert result.delivered and result.attempts == 3
    assert [r.status for r in hooks.requests] == [500, 500, 200]
    assert clock.sleeps == [0.5, 1.0]


def test_a_channel_that_keeps_failing_falls_back_to_the_next(hooks: WebhookReceiver,
                                                            teams: WebhookReceiver) -> None:
    hooks.fail_next(100, status=500)
    urls = {"slack": hooks.slack_url(), "teams": teams.teams_url()}
    with notifier(urls, attempts=2) as n:
        first = n.send(["slack", "teams"], "title", "body", "http://dash/?incident=x", strategy="first")
        everyone = n.send(["slack", "teams"], "title", "body", "http://dash/?incident=x")
    assert [(r.route, r.delivered) for r in first] == [("slack", False), ("teams", True)]
    assert "500" in first[0].error or "Internal Server Error" in first[0].error
    assert [(r.route, r.delivered) for r in everyone] == [("slack", False), ("teams", True)]
    texts = [m.text for m in teams.messages()]
    assert len(texts) == 2 and all("(Could not reach: slack.)" in t for t in texts)


def test_strategy_first_stops_at_the_first_delivery(hooks: WebhookReceiver, teams: WebhookReceiver) -> None:
    with notifier({"slack": hooks.slack_url(), "teams": teams.teams_url()}) as n:
        results = n.send(["slack", "teams"], "t", "b", "", strategy="first")
    assert [r.route for r in results] == ["slack"]
    assert teams.requests == []


def test_a_channel_down_is_skipped_until_its_cooldown_ends(hooks: WebhookReceiver) -> None:
    clock = FakeClock()
    hooks.fail_next(4, status=503, path_prefix="/services/")
    urls = {"slack": hooks.slack_url(), "audit": hooks.json_url()}
    with notifier(urls, clock, attempts=2, trip_after=2, cooldown=60) as n:
        for _ in range(2):
            n.send(["slack", "audit"], "t", "b", "")
        assert len(hooks.requests) == 6  # 2 x (2 failed slack attempts + 1 audit)
        skipped = n.send(["slack", "audit"], "t", "b", "")[0]
        assert skipped.skipped and skipped.attempts == 0 and "channel down" in skipped.error
        assert len(hooks.requests) == 7  # only the audit route was called
        clock.now += 61
        again = n.send(["slack"], "t", "b", "")[0]
    assert again.delivered and again.attempts == 1


def test_no_route_delivering_raises_with_every_result() -> None:
    port = closed_port()
    with notifier({"dead": f"json://127.0.0.1:{port}/x"}, attempts=2) as n, \
            pytest.raises(DeliveryError) as caught:
        n.send(["dead", "missing"], "t", "b", "")
    results = caught.value.results
    assert [(r.route, r.delivered, r.attempts, r.skipped) for r in results] == [
        ("dead", False, 2, False), ("missing", False, 0, True)]
    assert "not configured" in results[1].error


def test_configuration_errors_are_clear_one_liners() -> None:
    with pytest.raises(ConfigError, match=r"'broken'.*bogus://") as caught:
        notifier({"broken": "bogus://sekrit-token-value/abc"})
    assert "sekrit-token-value" not in str(caught.value)
    with notifier({"a": "json://127.0.0.1:9/x"}) as n, pytest.raises(ConfigError, match="nope"):
        n.check(["a", "nope"])
    with notifier({}) as n, pytest.raises(ConfigError):
        n.send([], "t", "b", "")


def test_no_secret_of_any_url_reaches_the_logs_or_results(hooks: WebhookReceiver, teams: WebhookReceiver,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    slack_token = "xoxbSecretToken0987654321"
    teams_wf, teams_sig = "wfSecret4242abcd", "sigSecret9191zz"
    password = "pw-Secret-55443"
    header_token = "hdrSecret-778899"
    dead = closed_port()
    urls = {
        "slack": hooks.slack_url(team="T0SECRETA", bot="B0SECRETB", token=slack_token),
        "teams": teams.teams_url(workflow=teams_wf, signature=teams_sig),
        "basic": f"json://admin:{password}@127.0.0.1:{hooks.port}/in?+X-Token={header_token}",
        "dead": f"json://ops:{password}@127.0.0.1:{dead}/services/T0SECRETA/B0SECRETB/{slack_token}",
    }
    hooks.fail_next(1, status=500)
    with notifier(urls, attempts=2) as n:
        results = n.send(list(urls), "t", "b", "")
        described = n.describe()
    secrets = [slack_token, teams_wf, teams_sig, password, header_token, "T0SECRETA", "B0SECRETB"]
    visible = caplog.text + repr(results) + repr(described)
    assert "JSON POST URL" in caplog.text or "Sent JSON" in caplog.text  # apprise did log at DEBUG
    for secret in secrets:
        assert secret not in visible, secret
    assert [r.delivered for r in results] == [True, True, True, False]
    assert hooks.requests[-1].headers["x-token"] == header_token  # the secret did reach its destination
