"""The `d-id` provider: D-ID's Talks API (a photo that speaks the text with a Microsoft voice).

    POST {base}/talks            {"source_url", "script": {"type": "text", "input", "provider"}}  -> {"id"}
    GET  {base}/talks/{id}       {"status": created|started|done|error|rejected, "result_url", "error"}
    GET  result_url              the MP4

Authorization is `Basic <API key>` (the key as D-ID issues it). Refusals (401, 402 no credits, 400 a
rejected script, status error/rejected) are `ProviderRefused` with D-ID's `kind`/`description`.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tagent.debrief.video import remote
from tagent.debrief.video.base import Rendered
from tagent.errors import ConfigError, ExternalError, ValidationError

DEFAULT_URL = "https://api.d-id.com"


class DIDVideo:
    name = "d-id"

    def __init__(self, api_key: str, source_url: str, *, voice: str = "en-US-JennyNeural",
                 base_url: str = DEFAULT_URL, limits: remote.Limits | None = None,
                 client: httpx.Client | None = None) -> None:
        if not api_key:
            raise ConfigError("d-id: no API key (set TAGENT_DID_API_KEY)")
        if not source_url.startswith(("https://", "http://")):
            raise ConfigError("d-id: the avatar image must be an http(s) URL (TAGENT_DID_SOURCE_URL)")
        self._key, self.source_url, self.voice = api_key, source_url, voice
        self.base_url, self.limits = base_url.rstrip("/"), limits or remote.Limits()
        self._client = client or httpx.Client(follow_redirects=True)

    @property
    def fingerprint(self) -> str:
        return f"d-id:{self.source_url}:{self.voice}"

    def render(self, text: str, path: Path) -> Rendered:
        if path.suffix.lower() != ".mp4":
            raise ValidationError(f"{path.name}: D-ID returns MP4; name the file .mp4")
        headers = {"Authorization": f"Basic {self._key}", "Accept": "application/json"}
        body = {"source_url": self.source_url,
                "script": {"type": "text", "input": text,
                           "provider": {"type": "microsoft", "voice_id": self.voice}},
                "config": {"result_format": "mp4"}}
        created = remote.call(self._client, self.name, "POST", f"{self.base_url}/talks", self.limits,
                              json=body, headers=headers).json()
        talk = str(created.get("id") or "")
        if not talk:
            raise ExternalError("d-id: the created talk has no id")

        def status() -> remote.Status:
            got = remote.call(self._client, self.name, "GET", f"{self.base_url}/talks/{talk}", self.limits,
                              headers=headers).json()
            state = str(got.get("status", ""))
            if state == "done":
                return "done", got.get("result_url")
            if state in ("error", "rejected"):
                err = got.get("error") or {}
                why = err.get("description") or err.get("kind") if isinstance(err, dict) else str(err)
                return "failed", f"{state}: {why or 'no reason given'}"
            return "pending", None

        url = remote.wait_for(status, self.name, self.limits)
        remote.download(self._client, self.name, url, path, self.limits)
        return Rendered(path, remote.duration_of(path), self.name)
