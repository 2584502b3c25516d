"""The `heygen` provider: HeyGen's video API (one of your HeyGen avatars speaking the text).

    POST {base}/v2/video/generate   {"video_inputs": [{"character": {"type": "avatar", "avatar_id"},
                                     "voice": {"type": "text", "input_text", "voice_id"}}], "dimension"}
                                    -> {"error": null, "data": {"video_id"}}
    GET  {base}/v1/video_status.get?video_id=...
                                    -> {"data": {"status": pending|waiting|processing|completed|failed,
                                                 "video_url", "error": {"code", "message", "detail"}}}
    GET  video_url                  the MP4

The key goes in `X-Api-Key`. A body with `error` set, a 4xx, or status failed is `ProviderRefused`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tagent.debrief.video import remote
from tagent.debrief.video.base import ProviderRefused, Rendered
from tagent.errors import ConfigError, ExternalError, ValidationError

DEFAULT_URL = "https://api.heygen.com"


def _error(body: Any) -> str | None:
    err = body.get("error") if isinstance(body, dict) else None
    if not err:
        return None
    if isinstance(err, dict):
        return ": ".join(str(err[k]) for k in ("code", "message", "detail") if err.get(k)) or str(err)
    return str(err)


class HeyGenVideo:
    name = "heygen"

    def __init__(self, api_key: str, avatar_id: str, voice_id: str, *, base_url: str = DEFAULT_URL,
                 width: int = 1280, height: int = 720, limits: remote.Limits | None = None,
                 client: httpx.Client | None = None) -> None:
        if not api_key:
            raise ConfigError("heygen: no API key (set TAGENT_HEYGEN_API_KEY)")
        if not avatar_id or not voice_id:
            raise ConfigError("heygen: an avatar id and a voice id are required (TAGENT_HEYGEN_AVATAR_ID, "
                              "TAGENT_HEYGEN_VOICE_ID)")
        self._key, self.avatar_id, self.voice_id = api_key, avatar_id, voice_id
        self.base_url, self.width, self.height = base_url.rstrip("/"), width, height
        self.limits = limits or remote.Limits()
        self._client = client or httpx.Client(follow_redirects=True)

    @property
    def fingerprint(self) -> str:
        return f"heygen:{self.avatar_id}:{self.voice_id}:{self.width}x{self.height}"

    def render(self, text: str, path: Path) -> Rendered:
        if path.suffix.lower() != ".mp4":
            raise ValidationError(f"{path.name}: HeyGen returns MP4; name the file .mp4")
        headers = {"X-Api-Key": self._key, "Accept": "application/json"}
        body = {"video_inputs": [{"character": {"type": "avatar", "avatar_id": self.avatar_id,
                                                "avatar_style": "normal"},
                                  "voice": {"type": "text", "input_text": text, "voice_id": self.voice_id}}],
                "dimension": {"width": self.width, "height": self.height}}
        created = remote.call(self._client, self.name, "POST", f"{self.base_url}/v2/video/generate",
                              self.limits, json=body, headers=headers).json()
        if (problem := _error(created)) is not None:
            raise ProviderRefused(f"heygen refused: {problem}")
        video = str((created.get("data") or {}).get("video_id") or "")
        if not video:
            raise ExternalError("heygen: the generate answer has no video_id")

        def status() -> remote.Status:
            got = remote.call(self._client, self.name, "GET", f"{self.base_url}/v1/video_status.get",
                              self.limits, params={"video_id": video}, headers=headers).json()
            data = got.get("data") or {}
            state = str(data.get("status", ""))
            if state == "completed":
                return "done", data.get("video_url")
            if state == "failed":
                return "failed", _error(data) or "failed"
            return "pending", None

        url = remote.wait_for(status, self.name, self.limits)
        remote.download(self._client, self.name, url, path, self.limits)
        return Rendered(path, remote.duration_of(path), self.name)
