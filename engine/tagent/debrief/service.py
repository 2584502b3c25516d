"""`DebriefService`: what the API, the CLI and the dashboard share: the narrative, its video, questions.

    service = DebriefService(store, clock, tz, data_dir / "debrief")
    service.narrative(since=timedelta(hours=12))      -> Narrative (deterministic, maybe reworded)
    service.video(text, provider="local", ext=".webm") -> Job (rendered once per text and provider)
    service.ask("why did it crash?", conversation_id) -> ask.Answer

The clock is the engine's (the sandbox clock in the demo), the zone the escalation policy's (`tz` may be a
function, so a rules change of zone applies at once).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from tagent.debrief import narrative as story
from tagent.debrief.ask import Answer, DebriefAsker
from tagent.debrief.jobs import Job, VideoJobs
from tagent.debrief.video import DebriefVideo, make_provider
from tagent.debrief.video.cache import VideoCache
from tagent.errors import ValidationError
from tagent.store import Store

MAX_SINCE = timedelta(days=30)
FORMATS = (".mp4", ".webm")


class DebriefService:
    def __init__(self, store: Store, clock: Callable[[], datetime], tz: tzinfo | Callable[[], tzinfo],
                 cache_dir: Path, *, reword: Callable[[str], str] | None = None,
                 providers: Callable[[str | None], DebriefVideo] = make_provider) -> None:
        self.store, self.clock, self._tz, self.reword, self.providers = store, clock, tz, reword, providers
        self.cache = VideoCache(cache_dir)
        self.jobs = VideoJobs()
        self.asker = DebriefAsker(store, clock, self.tz)

    @property
    def tz(self) -> tzinfo:
        return self._tz() if callable(self._tz) else self._tz

    def narrative(self, since: timedelta, *, rephrase: bool = False) -> story.Narrative:
        """The deterministic narrative; with `rephrase`, reworded by the LLM when every fact survives."""
        if not timedelta(0) < since <= MAX_SINCE:
            raise ValidationError("since must be between 1 second and 30 days")
        now = self.clock()
        self.asker.tz = self.tz
        built = story.build(self.store, now - since, now, self.tz)
        return story.rephrase(built, self.reword)[0] if rephrase else built

    def video(self, text: str, *, provider: str | None = None, ext: str = ".webm", **meta: object) -> Job:
        if ext not in FORMATS:
            raise ValidationError(f"format must be one of {', '.join(f.lstrip('.') for f in FORMATS)}")
        if not text.strip() or len(text) > 20_000:
            raise ValidationError("the text to speak must be 1..20000 characters")
        chosen = self.providers(provider)  # ConfigError now (a missing key), not later in the job
        ext = ext if chosen.name == "local" else ".mp4"  # the hosted avatars make MP4 only
        return self.jobs.submit(chosen.name, lambda: self.cache.render(chosen, text, ext), **meta)

    def ask(self, question: str, conversation_id: str | None = None) -> Answer:
        self.asker.tz = self.tz
        return self.asker.ask(question, conversation_id)

    def close(self) -> None:
        self.jobs.close()
