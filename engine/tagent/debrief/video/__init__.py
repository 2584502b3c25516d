"""tagent.debrief.video: the debrief spoken by an avatar.

    provider = make_provider("local", settings)    # or "d-id", "heygen"; None: settings.debrief_video
    VideoCache(data_dir / "debrief").render(provider, text, ".mp4") -> Rendered(path, seconds, provider)

Providers implement `DebriefVideo` (base). Their settings are fields of `tagent.settings.Settings`
(TAGENT_DEBRIEF_VIDEO, TAGENT_DEBRIEF_VOICE, TAGENT_DID_API_KEY, TAGENT_DID_SOURCE_URL, TAGENT_DID_VOICE,
TAGENT_HEYGEN_API_KEY, TAGENT_HEYGEN_AVATAR_ID, TAGENT_HEYGEN_VOICE_ID, TAGENT_DID_URL/TAGENT_HEYGEN_URL for
another endpoint); nothing here reads the environment.
"""

from __future__ import annotations

from tagent.debrief.video.base import DebriefVideo, ProviderRefused, ProviderTimeout, Rendered
from tagent.errors import ValidationError
from tagent.settings import Settings

PROVIDERS = ("local", "d-id", "heygen")

__all__ = ["PROVIDERS", "DebriefVideo", "ProviderRefused", "ProviderTimeout", "Rendered", "make_provider"]


def _secret(value: object) -> str:
    get = getattr(value, "get_secret_value", None)
    return str(get()) if get is not None else ""


def make_provider(name: str | None = None, settings: Settings | None = None) -> DebriefVideo:
    """The provider called `name` (default: `settings.debrief_video`), configured from `settings` (None: the
    fields' defaults, which is the local avatar)."""
    s = settings if settings is not None else Settings.model_construct()  # defaults only, no environment
    chosen = (name or s.debrief_video or "local").strip().lower()
    if chosen == "local":
        from tagent.debrief.video.local import LocalVideo

        return LocalVideo(voice=s.debrief_voice)
    if chosen == "d-id":
        from tagent.debrief.video.did import DEFAULT_URL, DIDVideo

        return DIDVideo(_secret(s.did_api_key), s.did_source_url, voice=s.did_voice,
                        base_url=s.did_url or DEFAULT_URL)
    if chosen == "heygen":
        from tagent.debrief.video.heygen import DEFAULT_URL as HEYGEN_URL
        from tagent.debrief.video.heygen import HeyGenVideo

        return HeyGenVideo(_secret(s.heygen_api_key), s.heygen_avatar_id, s.heygen_voice_id,
                           base_url=s.heygen_url or HEYGEN_URL)
    raise ValidationError(f"unknown video provider {chosen!r}: choose one of {', '.join(PROVIDERS)}")
