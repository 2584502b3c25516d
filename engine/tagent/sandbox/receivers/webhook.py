"""Local stand-in for chat webhooks: apprise `json://`, Slack incoming webhooks, Teams Workflows.

Why these three shapes and how apprise reaches them (apprise 2.x, checked in its plugin source):

- apprise's `slack://` plugin always posts to the fixed host `https://hooks.slack.com/services/...`; it
  cannot be pointed at 127.0.0.1. A Slack-format endpoint is reached with apprise's generic `json://`
  plugin instead, remapping its payload with `:key=value` query arguments so that the body is exactly
  Slack's documented incoming-webhook body `{"text": "..."}` (see `slack_url`). Production uses the real
  `slack://T/B/C` URL; the Slack message body differs only in that `slack://` adds an attachment.
- apprise's Teams plugin `workflows://HOST:PORT/WORKFLOW/SIGNATURE` takes any host and port but always
  speaks https; this receiver therefore runs with a self-signed certificate (`tls=True`) and the apprise
  URL carries `verify=no` (see `teams_url`). The Adaptive Card payload is the one Teams receives.
- anything else is the apprise `json://` body `{"version", "title", "message", "type", "attachments"}`.

Answers follow each service: Slack replies `200 ok` (or `400 invalid_payload`), Teams Workflows `202`,
the generic JSON endpoint `200`.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from tagent.sandbox.receivers.base import RecordedRequest, RecordingServer, Reply

SLACK_PATH = re.compile(r"^/services/[^/]+/[^/]+/[^/]+$")
TEAMS_PATH = re.compile(r"^/workflows/[^/]+/triggers/manual/paths/invoke$")
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class ReceivedMessage:
    """A notification as a person would read it, whatever format carried it."""

    channel: str  # slack | teams | json
    title: str
    text: str
    request: RecordedRequest


def _card_text(payload: dict[str, Any]) -> tuple[str, str]:
    title, parts = "", []
    for attachment in payload.get("attachments") or []:
        if attachment.get("contentType") != ADAPTIVE_CARD:
            continue
        for block in (attachment.get("content") or {}).get("body") or []:
            if block.get("type") != "TextBlock":
                continue
            if block.get("id") == "title":
                title = str(block.get("text", ""))
            else:
                parts.append(str(block.get("text", "")))
    return title, "\n".join(parts)


class WebhookReceiver(RecordingServer):
    """Records webhook posts and answers like Slack, Teams Workflows or a plain JSON endpoint."""

    def handle(self, request: RecordedRequest) -> Reply:
        if request.method != "POST":
            return Reply(status=405, body=b"method not allowed", content_type="text/plain")
        try:
            payload = request.json()
        except (ValueError, UnicodeDecodeError):
            payload = None
        if SLACK_PATH.match(request.path):
            if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")
                                                     or payload.get("attachments")):
                return Reply(status=400, body=b"invalid_payload", content_type="text/html")
            return Reply(status=200, body=b"ok", content_type="text/html")
        if TEAMS_PATH.match(request.path):
            if not isinstance(payload, dict) or payload.get("type") != "message":
                return Reply.of_json({"error": {"code": "InvalidRequestContent"}}, status=400)
            return Reply(status=202, body=b"")
        if not isinstance(payload, dict):
            return Reply.of_json({"error": "expected a JSON object"}, status=400)
        return Reply.of_json({"ok": True})

    def messages(self) -> list[ReceivedMessage]:
        """Every successfully received notification, normalised to title + text."""
        found: list[ReceivedMessage] = []
        for r in self.requests:
            if r.status >= 300:
                continue
            payload = r.json()
            if SLACK_PATH.match(r.path):
                found.append(ReceivedMessage("slack", "", str(payload.get("text", "")), r))
            elif TEAMS_PATH.match(r.path):
                title, text = _card_text(payload)
                found.append(ReceivedMessage("teams", title, text, r))
            else:
                found.append(ReceivedMessage("json", str(payload.get("title", "")),
                                             str(payload.get("message", "")), r))
        return found

    # -- apprise URLs that reach this receiver ----------------------------------------------------
    def json_url(self, path: str = "/notify", user: str = "", password: str = "") -> str:
        """apprise `json://` URL posting the generic apprise JSON body to `path`."""
        creds = f"{user}:{password}@" if user or password else ""
        return f"json://{creds}127.0.0.1:{self.port}{path}"

    def slack_url(self, team: str = "T00000000", bot: str = "B00000000", token: str | None = None) -> str:
        """apprise `json://` URL whose body is Slack's incoming-webhook format `{"text": ...}`."""
        token = token or secrets.token_hex(12)
        if self._tls:
            raise RuntimeError("slack_url needs a plain-http WebhookReceiver (tls=False)")
        remap = ":message=text&:title=&:version=&:type=&:attachments="
        return f"json://127.0.0.1:{self.port}/services/{team}/{bot}/{token}?{remap}"

    def teams_url(self, workflow: str = "a1b2c3d4e5f6", signature: str = "SIGxyz123") -> str:
        """apprise Microsoft Teams Workflows URL for this receiver (needs `tls=True`)."""
        if not self._tls:
            raise RuntimeError("teams_url needs WebhookReceiver(tls=True): apprise's workflows:// is https only")
        return f"workflows://127.0.0.1:{self.port}/{workflow}/{signature}/?verify=no&image=no"


def dump(messages: list[ReceivedMessage]) -> str:
    """Messages as JSON lines, for the demo's output."""
    return "\n".join(json.dumps({"channel": m.channel, "title": m.title, "text": m.text}) for m in messages)
