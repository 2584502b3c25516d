"""Video jobs: one worker, in order; a failure is a job status with its one-line reason; the map is bounded."""

from __future__ import annotations

import threading
from pathlib import Path

from tagent.debrief.jobs import VideoJobs
from tagent.debrief.video.base import Rendered
from tagent.errors import ExternalError


def test_jobs_run_in_order_and_failures_are_statuses(tmp_path: Path) -> None:
    jobs = VideoJobs(keep=2)
    gate, order = threading.Event(), []

    def slow() -> Rendered:
        gate.wait(5)
        order.append("slow")
        return Rendered(tmp_path / "a.mp4", 1.0, "local")

    def refused() -> Rendered:
        order.append("refused")
        raise ExternalError("d-id refused (402): InsufficientCreditsError: not enough credits\nmore detail")

    first, second = jobs.submit("local", slow), jobs.submit("d-id", refused)
    assert jobs.get(second.id).status == "queued"  # type: ignore[union-attr]
    gate.set()
    done, failed = jobs.wait(first.id, 5), jobs.wait(second.id, 5)
    assert done is not None and done.status == "done" and done.as_dict()["seconds"] == 1.0
    assert failed is not None and failed.status == "failed"
    assert failed.error == "d-id refused (402): InsufficientCreditsError: not enough credits"
    assert order == ["slow", "refused"]
    for _ in range(3):
        jobs.wait(jobs.submit("local", slow).id, 5)
    assert jobs.get(first.id) is None  # the oldest finished jobs are forgotten
    jobs.close()
