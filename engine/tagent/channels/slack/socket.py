"""Socket Mode: the same bot for clusters with no ingress. Tagent opens the WebSocket to Slack itself
(`apps.connections.open` with the app-level token, TAGENT_SLACK_APP_TOKEN), so no request comes in and there
is no signature to check: the connection is authenticated by the token. Each envelope is acknowledged first
(with the slash command's answer as the ack payload), then worked, exactly as the HTTP routes do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.socket_mode.builtin.client import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import WebClient

from tagent.channels.slack.bot import SlackBot

log = logging.getLogger("tagent.channels.slack")


class SlackSocket:
    def __init__(self, bot: SlackBot, app_token: str, web_client: WebClient | None = None,
                 ping_interval: float = 10.0) -> None:
        self.bot = bot
        self.client = SocketModeClient(app_token=app_token, web_client=web_client or bot.client,
                                       ping_interval=ping_interval, auto_reconnect_enabled=True)
        self.client.socket_mode_request_listeners.append(self._on_request)

    def start(self) -> None:
        self.client.connect()

    def stop(self) -> None:
        self.client.close()

    def _on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        work: list[tuple[Callable[..., None], tuple[Any, ...]]] = []

        def later(fn: Callable[..., None], *args: Any) -> None:
            work.append((fn, args))

        payload: dict[str, Any] = {}
        try:
            if request.type == "events_api":
                self.bot.event(request.payload, later)
            elif request.type == "slash_commands":
                payload = self.bot.command({k: str(v) for k, v in request.payload.items()})
            elif request.type == "interactive":
                payload = self.bot.interaction(request.payload, later)
        finally:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id,
                                                                payload=payload or None))
        for fn, args in work:
            try:
                fn(*args)
            except Exception:  # one bad envelope never ends the connection's worker
                log.exception("slack socket mode: handling %s failed", request.type)
