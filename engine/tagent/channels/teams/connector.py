"""The Bot Framework connector REST API: post a reply (`/v3/conversations/{id}/activities/{replyTo}`) and
update an activity in place (PUT), with an app token from the client-credentials grant (cached)."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

SCOPE = "https://api.botframework.com/.default"


class ConnectorError(Exception):
    """The connector or the token endpoint refused (one line)."""


class Connector:
    def __init__(self, token_url: str, app_id: str, password: SecretStr, timeout: float = 10.0) -> None:
        self.token_url, self.app_id, self.password, self.timeout = token_url, app_id, password, timeout
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or self._token[1] <= time.monotonic():
                try:
                    answer = httpx.post(self.token_url, timeout=self.timeout, data={
                        "grant_type": "client_credentials", "client_id": self.app_id,
                        "client_secret": self.password.get_secret_value(), "scope": SCOPE})
                    answer.raise_for_status()
                    body = answer.json()
                    token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    raise ConnectorError(f"no Bot Framework token from {self.token_url}: "
                                         f"{type(exc).__name__}") from None
                self._token = (token, time.monotonic() + max(lifetime - 60, 30))
            return self._token[0]

    def _send(self, method: str, url: str, activity: dict[str, Any]) -> dict[str, Any]:
        try:
            answer = httpx.request(method, url, json=activity, timeout=self.timeout,
                                   headers={"Authorization": f"Bearer {self._bearer()}"})
            answer.raise_for_status()
            body = answer.json() if answer.content else {}
        except (httpx.HTTPError, ValueError) as exc:
            raise ConnectorError(f"the connector refused {method} {url}: {type(exc).__name__}: {exc}") from None
        return body if isinstance(body, dict) else {}

    def reply(self, service_url: str, conversation_id: str, activity: dict[str, Any],
              reply_to: str | None = None) -> dict[str, Any]:
        url = f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}/activities"
        return self._send("POST", url + (f"/{quote(reply_to, safe='')}" if reply_to else ""), activity)

    def update(self, service_url: str, conversation_id: str, activity_id: str,
               activity: dict[str, Any]) -> dict[str, Any]:
        url = (f"{service_url.rstrip('/')}/v3/conversations/{quote(conversation_id, safe='')}"
               f"/activities/{quote(activity_id, safe='')}")
        return self._send("PUT", url, activity)
