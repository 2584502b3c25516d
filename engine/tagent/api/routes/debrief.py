"""The morning debrief over HTTP: the narrative, its video (a job), and questions about it.

    GET  /debrief?since=12h                 narrative (text, lines, incidents) on the engine's clock, local time
    POST /debrief/video {since?|text?, provider?, format?}   -> job (202)
    GET  /debrief/video/{job}                job status; GET /debrief/video/{job}/file the video itself
    POST /debrief/ask {question, conversation_id?, video?}   -> answer with citations (+ a clip job)

The `DebriefService` is built once per app on first use (`app.state.debrief`), over the engine's store
and clock, in the escalation policy's time zone, with its cache under the data dir.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from tagent.app.engine import Engine
from tagent.debrief.localtime import team_timezone
from tagent.debrief.narrative import llm_reword
from tagent.debrief.service import DebriefService
from tagent.debrief.video import make_provider
from tagent.errors import ConfigError, ValidationError
from tagent.llm.client import LLMClient
from tagent.model.duration import parse_duration
from tagent.settings import Settings

router = APIRouter(tags=["debrief"])
_BUILD = threading.Lock()


def debrief_service(request: Request) -> DebriefService:
    state = request.app.state
    with _BUILD:
        if getattr(state, "debrief", None) is None:
            engine: Engine = state.engine
            settings: Settings = state.settings
            client = LLMClient.from_settings(settings)
            state.debrief = DebriefService(engine.store, engine.clock, lambda: team_timezone(engine.ruleset),
                                           settings.data_dir / "debrief",
                                           reword=llm_reword(client) if client is not None else None,
                                           providers=lambda name: make_provider(name, settings))
        return state.debrief


DebriefDep = Annotated[DebriefService, Depends(debrief_service)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideoBody(_Body):
    since: str = Field(default="12h", max_length=10)
    text: str | None = Field(default=None, max_length=20_000, description="speak this instead of the narrative")
    provider: Literal["local", "d-id", "heygen"] | None = None
    format: Literal["mp4", "webm"] = "webm"


class AskBody(_Body):
    question: str = Field(min_length=1, max_length=500)
    conversation_id: str | None = Field(default=None, max_length=64)
    video: bool = False


def _since(text: str) -> timedelta:
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        raise ValidationError(f"since: {exc}") from exc


def _job_view(job: Any) -> dict[str, Any]:
    view: dict[str, Any] = job.as_dict()
    view["file"] = f"/api/v1/debrief/video/{job.id}/file" if job.status == "done" else None
    return view


@router.get("/debrief")
def debrief(service: DebriefDep, since: str = Query("12h", max_length=10), rephrase: bool = False) -> Any:
    """The narrative of the incidents opened in the last `since`, with exact local times."""
    if rephrase and service.reword is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "rephrase needs an LLM, and none is configured")
    return service.narrative(_since(since), rephrase=rephrase).as_dict()


@router.post("/debrief/video", status_code=status.HTTP_202_ACCEPTED)
def video(service: DebriefDep, body: VideoBody) -> Any:
    """Render the narrative (or `text`) as a video; poll the returned job."""
    text = body.text or service.narrative(_since(body.since)).text
    return _job_view(service.video(text, provider=body.provider, ext=f".{body.format}"))  # no key: 503


@router.get("/debrief/video/{job_id}")
def video_job(service: DebriefDep, job_id: str) -> Any:
    job = service.jobs.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no video job {job_id}")
    return _job_view(job)


@router.get("/debrief/video/{job_id}/file")
def video_file(service: DebriefDep, job_id: str) -> FileResponse:
    job = service.jobs.get(job_id)
    if job is None or job.result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"video job {job_id} has no file (yet)")
    return FileResponse(job.result.path, media_type=job.result.mime, filename=f"debrief{job.result.path.suffix}")


@router.post("/debrief/ask")
def ask(service: DebriefDep, body: AskBody) -> Any:
    """An answer from the store, citing the incidents and timeline entries it used; `conversation_id` keeps
    follow-ups ("and the one after that?") in context. `video`: also a short clip of the answer (a job)."""
    answer = service.ask(body.question, body.conversation_id)
    out = answer.as_dict()
    if body.video:
        try:
            out["video"] = _job_view(service.video(answer.text, ext=".webm"))  # the same avatar as the night
        except ConfigError as exc:
            out["video"] = {"status": "failed", "error": str(exc)}
    return out
