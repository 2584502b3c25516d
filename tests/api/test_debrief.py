"""/api/v1/debrief on a real engine (sandbox cluster, the default rules pack: the team is in Asia/Kolkata)."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.app.engine import Engine
from tagent.debrief.video.local import LocalVideo
from tagent.model import IncidentStatus
from tests.debrief import standins
from tests.debrief.nightdata import add
from tests.serving import serve


def _night(engine: Engine) -> list[str]:
    now = engine.clock()
    return [add(engine.store, name, rule, IncidentStatus.resolved, now - timedelta(hours=hours), action).id
            for name, rule, hours, action in (
                ("payment-service", "crashloop-restart", 5, "kubernetes.rollout_restart"),
                ("checkout", "bad-deploy-rollback", 3, "kubernetes.rollout_undo"))]


def _done(api: TestClient, job: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.get(f"/api/v1/debrief/video/{job['id']}").json()
    return job


def test_the_narrative_in_the_teams_time(api: TestClient, engine: Engine) -> None:
    ids = _night(engine)
    body = api.get("/api/v1/debrief", params={"since": "12h"}).json()
    assert body["timezone"] == "Asia/Kolkata"
    assert [i["id"] for i in body["incidents"]] == ids
    for incident in body["incidents"]:
        assert incident["local_time"].endswith(" IST") and incident["local_time"] in body["text"]
        assert incident["name"] in body["text"]
    assert [ln["incident_id"] for ln in body["lines"] if ln["incident_id"]] == ids
    bad = api.get("/api/v1/debrief", params={"since": "yesterday"})
    assert bad.status_code == 422 and "since" in bad.json()["detail"]
    assert api.get("/api/v1/debrief", params={"rephrase": "true"}).status_code == 409  # no LLM configured


def test_the_video_is_a_job_with_a_file_and_is_cached(api: TestClient, engine: Engine) -> None:
    _night(engine)
    job = api.post("/api/v1/debrief/video", json={"since": "12h", "format": "mp4"})
    assert job.status_code == 202 and job.json()["status"] in ("queued", "running", "done")
    done = _done(api, job.json())
    assert done["status"] == "done" and done["mime"] == "video/mp4" and done["seconds"] > 10
    got = api.get(done["file"])
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(got.content), mode="r") as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        assert float(container.duration or 0) / 1e6 == pytest.approx(done["seconds"], abs=0.3)
    again = _done(api, api.post("/api/v1/debrief/video", json={"since": "12h", "format": "mp4"}).json())
    assert again["cached"] is True and again["id"] != done["id"]


def test_video_refusals(api: TestClient) -> None:
    no_key = api.post("/api/v1/debrief/video", json={"text": "Hello.", "provider": "d-id", "format": "mp4"})
    assert no_key.status_code == 503 and no_key.json()["detail"].startswith("d-id: no API key")
    assert api.post("/api/v1/debrief/video", json={"text": "Hi", "format": "gif"}).status_code == 422
    assert api.get("/api/v1/debrief/video/nope").status_code == 404
    assert api.get("/api/v1/debrief/video/nope/file").status_code == 404


def test_questions_with_citations_and_follow_ups(api: TestClient, engine: Engine) -> None:
    ids = _night(engine)
    first = api.post("/api/v1/debrief/ask", json={"question": "why did it crash?"}).json()
    assert first["incident_id"] == ids[0] and "CrashLoopBackOff" in first["answer"]
    assert first["citations"] and all(c["incident_id"] == ids[0] for c in first["citations"])
    assert first["citations"][0]["link"] == f"/?incident={ids[0]}"
    nxt = api.post("/api/v1/debrief/ask", json={"question": "and the one after that?",
                                                "conversation_id": first["conversation_id"], "video": True}).json()
    assert nxt["incident_id"] == ids[1] and "checkout" in nxt["answer"] and nxt["citations"]
    assert _done(api, nxt["video"])["status"] == "done"  # spoken by the same avatar
    assert api.post("/api/v1/debrief/ask", json={"question": ""}).status_code == 422
    assert api.post("/api/v1/debrief/ask", json={"question": "why?", "conversation_id": "a/b"}).status_code == 422


def test_a_hosted_avatar_through_the_api(api: TestClient, tmp_path: Path) -> None:
    """D-ID (its stand-in) configured in the app's Settings: the job asks for WebM, the hosted avatar makes MP4."""
    clip = LocalVideo().render("A face from elsewhere.", tmp_path / "clip.mp4").path.read_bytes()
    behaviour = standins.Behaviour(video=clip, polls_before_done=0)
    with serve(standins.did(behaviour)) as url:
        state = api.app.state  # type: ignore[attr-defined]
        state.settings = state.settings.model_copy(update={  # before the debrief service is built from them
            "did_api_key": SecretStr(behaviour.key), "did_url": url, "did_source_url": "https://example.test/face.png"})
        job = api.post("/api/v1/debrief/video", json={"text": "Hello.", "provider": "d-id", "format": "webm"}).json()
        done = _done(api, job)
    assert done["status"] == "done" and done["provider"] == "d-id" and done["mime"] == "video/mp4", done
    assert api.get(done["file"]).content == clip
    assert behaviour.seen[0][3]["script"]["input"] == "Hello."
