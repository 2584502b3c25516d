"""Issue 16's acceptance: after `tagent demo --headless`, `tagent debrief --since 24h --video night.mp4` on the
same data dir writes a video with a video and an audio stream as long as the speech, naming every incident of
the night at its local (Asia/Kolkata) time; `tagent debrief ask` answers from the same store with citations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from tagent.debrief import localtime
from tagent.debrief.postmortem import broke_at
from tagent.store import Store

REPO = Path(__file__).resolve().parents[2]
IST = localtime.zone("Asia/Kolkata")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]


def tagent(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tagent", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.fixture
def data(demo_night: tuple[dict, Path]) -> Path:
    return demo_night[1]


def test_the_nights_video_names_every_incident_in_local_time(data: Path, tmp_path: Path) -> None:
    video = tmp_path / "night.mp4"
    done = tagent("debrief", "--since", "24h", "--video", str(video), "--data-dir", str(data), "--output", "json",
                  timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    told = json.loads(done.stdout)
    assert told["timezone"] == "Asia/Kolkata"
    with Store.open(f"sqlite:///{data / 'tagent.db'}") as store:
        incidents = [store.incidents.get(i.id) for i in store.incidents.list(limit=500)]
    assert len(incidents) >= 5
    for incident in incidents:
        assert incident is not None
        stamp = localtime.stamp(broke_at(incident), IST)
        assert f"at {stamp}, {incident.target.name} in {incident.target.namespace}" in told["text"], stamp
    with av.open(str(video), mode="r") as container:
        kinds = {s.type: s for s in container.streams}
        assert set(kinds) == {"video", "audio"}
        audio_s = float(kinds["audio"].duration * kinds["audio"].time_base)  # type: ignore[operator]
        video_s = float(kinds["video"].duration * kinds["video"].time_base)  # type: ignore[operator]
    assert audio_s == pytest.approx(told["video"]["seconds"], abs=0.2)  # the speech, all of it
    assert video_s == pytest.approx(audio_s, abs=0.2)  # the face talks as long as the voice
    assert audio_s > 5 * len(incidents)  # a few sentences per incident are spoken, not just a greeting


def test_asking_the_same_store(data: Path) -> None:
    asked = tagent("debrief", "ask", "what happened last night?", "--since", "24h", "--data-dir", str(data),
                   "--output", "json", timeout=120)
    assert asked.returncode == 0, asked.stderr[-2000:]
    answer = json.loads(asked.stdout)
    assert "payment-service" in answer["answer"] and " IST" in answer["answer"]
    assert answer["citations"] and all(c["link"] == f"/?incident={c['incident_id']}" for c in answer["citations"])
