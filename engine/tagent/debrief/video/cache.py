"""Rendered videos, cached per debrief text and provider: the same words by the same avatar render once.

The key is sha256(provider fingerprint + text); the file is `<dir>/<key>.<ext>`. A file is written under a
temporary name and renamed, so a reader never sees half a video; two renders of the same key in parallel
both finish and the last rename wins (same bytes). `prune` keeps the newest `keep` files.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from tagent.debrief.video.base import DebriefVideo, Rendered

_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def key(provider: DebriefVideo, text: str) -> str:
    return hashlib.sha256(f"{provider.fingerprint}\n{text}".encode()).hexdigest()[:32]


class VideoCache:
    def __init__(self, directory: Path, *, keep: int = 200) -> None:
        self.directory, self.keep = directory, keep

    def path(self, provider: DebriefVideo, text: str, ext: str = ".mp4") -> Path:
        return self.directory / f"{key(provider, text)}{ext}"

    def render(self, provider: DebriefVideo, text: str, ext: str = ".mp4") -> Rendered:
        """The cached video of `text` by `provider`, rendered first when missing."""
        path = self.path(provider, text, ext)
        with _GUARD:
            if len(_LOCKS) > 1000:  # forget the locks nobody holds, so the map stays small
                for name in [k for k, held in _LOCKS.items() if not held.locked()]:
                    del _LOCKS[name]
            lock = _LOCKS.setdefault(str(path), threading.Lock())
        with lock:  # one render per key in this process; others wait and get the file
            if path.exists() and path.stat().st_size > 0:
                from tagent.debrief.video.remote import duration_of

                return Rendered(path, duration_of(path), provider.name, cached=True)
            self.directory.mkdir(parents=True, exist_ok=True)
            rendered = provider.render(text, path)
        self.prune()
        return rendered

    def prune(self) -> None:
        files = sorted((p for p in self.directory.glob("*.*") if not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[self.keep:]:
            old.unlink(missing_ok=True)
