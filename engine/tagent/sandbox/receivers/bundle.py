"""Every local stand-in at once, wired into Settings: what `tagent demo` starts beside the sandbox.

`LocalReceivers` runs a Slack-format webhook, a Teams Workflows endpoint (https, self-signed), a
Twilio REST API and an OpenAI-compatible server, and gives the settings overrides that point Tagent at
them under the route names of the default escalation policy (`slack-oncall`, `teams-sre`,
`oncall-phone`). `report()` says what arrived, for the demo summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import SecretStr

from tagent.sandbox.receivers.openai import OpenAIReceiver, Responder, explain_responder
from tagent.sandbox.receivers.twilio import TwilioReceiver
from tagent.sandbox.receivers.webhook import WebhookReceiver

ONCALL_NUMBER = "+15005550006"
TAGENT_NUMBER = "+15005550001"


class LocalReceivers:
    def __init__(self, *, responder: Responder = explain_responder, cert_dir: Path | None = None) -> None:
        self.slack = WebhookReceiver()
        self.teams = WebhookReceiver(tls=True, cert_dir=cert_dir)
        self.twilio = TwilioReceiver()
        self.llm = OpenAIReceiver(responder, model="sandbox-model")

    def start(self) -> Self:
        started = []
        try:
            for receiver in (self.slack, self.teams, self.twilio, self.llm):
                receiver.start()
                started.append(receiver)
        except BaseException:
            for receiver in started:
                receiver.stop()
            raise
        return self

    def stop(self) -> None:
        for receiver in (self.slack, self.teams, self.twilio, self.llm):
            receiver.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def settings_overrides(self, with_llm: bool = True) -> dict[str, Any]:
        """Keyword arguments for `Settings`/`load_settings` pointing every channel here."""
        overrides: dict[str, Any] = {
            "notify_urls": {"slack-oncall": SecretStr(self.slack.slack_url()),
                            "teams-sre": SecretStr(self.teams.teams_url())},
            "notify_min_interval": 0.0,
            "phones": {"oncall-phone": ONCALL_NUMBER},
            "twilio_account_sid": self.twilio.account_sid,
            "twilio_auth_token": SecretStr(self.twilio.auth_token),
            "twilio_from": TAGENT_NUMBER,
            "twilio_base_url": self.twilio.base_url,
        }
        if with_llm:
            overrides.update(llm_base_url=self.llm.api_base, llm_model=self.llm.model)
        return overrides

    def report(self) -> dict[str, Any]:
        """What arrived where: messages by channel, calls placed, LLM prompts received."""
        return {
            "slack_messages": [m.text for m in self.slack.messages()],
            "teams_messages": [{"title": m.title, "text": m.text} for m in self.teams.messages()],
            "calls": [{"sid": c.sid, "to": c.to} for c in self.twilio.calls],
            "llm_requests": len(self.llm.prompts()),
        }
