"""tagent.debrief.video: the debrief spoken by an avatar.

    provider = make_provider("local")              # or "d-id", "heygen" (their keys from the environment)
    VideoCache(data_dir / "debrief").render(provider, text, ".mp4") -> Rendered(path, seconds, provider)

Providers implement `DebriefVideo` (base). Settings are read from `TAGENT_*` environment variables here
(TAGENT_DEBRIEF_VIDEO, TAGENT_DID_API_KEY, TAGENT_DID_SOURCE_URL, TAGENT_HEYGEN_API_KEY,
TAGENT_HEYGEN_AVATAR_ID, TAGENT_HEYGEN_VOICE_ID, TAGENT_DID_URL/TAGENT_HEYGEN_URL for another endpoint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from tagent.debrief.video.base import DebriefVideo, ProviderRefused, ProviderTimeout, Rendered
from tagent.errors import ValidationError

PROVIDERS = ("local", "d-id", "heygen")

__all__ = ["PROVIDERS", "DebriefVideo", "ProviderRefused", "ProviderTimeout", "Rendered", "make_provider"]


def make_provider(name: str | None = None, env: Mapping[str, str] | None = None) -> DebriefVideo:
    """The provider called `name` (default: TAGENT_DEBRIEF_VIDEO, else local), configured from `env`."""
    env = os.environ if env is None else env
    chosen = (name or env.get("TAGENT_DEBRIEF_VIDEO") or "local").strip().lower()
    if chosen == "local":
        from tagent.debrief.video.local import LocalVideo

        return LocalVideo(voice=env.get("TAGENT_DEBRIEF_VOICE", "en-us"))
    if chosen == "d-id":
        from tagent.debrief.video.did import DEFAULT_URL, DIDVideo

        return DIDVideo(env.get("TAGENT_DID_API_KEY", ""), env.get("TAGENT_DID_SOURCE_URL", ""),
                        voice=env.get("TAGENT_DID_VOICE", "en-US-JennyNeural"),
                        base_url=env.get("TAGENT_DID_URL", DEFAULT_URL))
    if chosen == "heygen":
        from tagent.debrief.video.heygen import DEFAULT_URL as HEYGEN_URL
        from tagent.debrief.video.heygen import HeyGenVideo

        return HeyGenVideo(env.get("TAGENT_HEYGEN_API_KEY", ""), env.get("TAGENT_HEYGEN_AVATAR_ID", ""),
                           env.get("TAGENT_HEYGEN_VOICE_ID", ""), base_url=env.get("TAGENT_HEYGEN_URL", HEYGEN_URL))
    raise ValidationError(f"unknown video provider {chosen!r}: choose one of {', '.join(PROVIDERS)}")
