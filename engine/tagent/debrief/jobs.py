"""Video renders as jobs: the API answers at once with a job id, one worker renders in the background.

One worker, because the local provider uses the CPU the engine needs and the hosted ones are paid per
video; jobs wait in line. The worker is a daemon thread, so a hosted render still polling never holds up
the process's exit. The map of jobs is bounded (the oldest finished ones are forgotten first).
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tagent.debrief.video.base import Rendered
from tagent.errors import TagentError


@dataclass
class Job:
    id: str
    provider: str
    status: str = "queued"  # queued | running | done | failed
    error: str | None = None
    result: Rendered | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        r = self.result
        return {"id": self.id, "provider": self.provider, "status": self.status, "error": self.error,
                "seconds": round(r.seconds, 2) if r else None, "cached": r.cached if r else None,
                "mime": r.mime if r else None, **self.meta}


class VideoJobs:
    def __init__(self, *, keep: int = 100) -> None:
        self.keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Job, Callable[[], Rendered]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="tagent-debrief-video", daemon=True)
        self._worker.start()

    def submit(self, provider: str, work: Callable[[], Rendered], **meta: Any) -> Job:
        job = Job(secrets.token_hex(8), provider, meta=meta)
        with self._lock:
            self._jobs[job.id] = job
            done = [k for k, j in self._jobs.items() if j.status in ("done", "failed")]
            for k in done[: max(0, len(self._jobs) - self.keep)]:
                del self._jobs[k]
        self._queue.put((job, work))
        return job

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._run(*item)

    def _run(self, job: Job, work: Callable[[], Rendered]) -> None:
        job.status = "running"
        try:
            job.result = work()
            job.status = "done"
        except (TagentError, ValueError, OSError) as exc:
            job.status, job.error = "failed", str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout: float) -> Job | None:
        """The job once finished (or as it is after `timeout` seconds)."""
        import time

        deadline = time.monotonic() + timeout
        while (job := self.get(job_id)) is not None and job.status in ("queued", "running") \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        return job

    def close(self) -> None:
        """Stop after the job in hand; queued ones are dropped."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(None)
