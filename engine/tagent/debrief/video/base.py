"""The `DebriefVideo` provider interface: text in, a video file out.

    provider.render(text, path) -> Rendered     # blocks until the file is written
    provider.name, provider.fingerprint         # which provider, and what changes its output (cache key)

Providers raise tagent.errors.ConfigError when they cannot run at all (a missing key, a missing library),
`ProviderRefused` when the service says no (bad key, no credit, moderation), and `ProviderTimeout` when the
video is not ready in time. Each is one line a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from tagent.errors import ExternalError


class ProviderRefused(ExternalError):
    """The provider answered and refused (4xx, an error status): retrying will not help."""


class ProviderTimeout(ExternalError):
    """The provider did not finish the video in time."""


@dataclass(frozen=True)
class Rendered:
    path: Path
    seconds: float  # the spoken length
    provider: str
    cached: bool = False

    @property
    def mime(self) -> str:
        return {".webm": "video/webm", ".mp4": "video/mp4"}.get(self.path.suffix.lower(), "application/octet-stream")


@runtime_checkable
class DebriefVideo(Protocol):
    name: str

    @property
    def fingerprint(self) -> str:
        """What besides the text decides the output (voice, avatar, size): part of the cache key."""
        ...

    def render(self, text: str, path: Path) -> Rendered:
        """Speak `text` as a video written to `path` (.mp4 or .webm)."""
        ...
