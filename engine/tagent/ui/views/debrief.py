"""Debrief: the night told by Tagent's avatar, the transcript beside it, and questions you can ask it.

The video (or its sound alone) is rendered by the engine (POST /api/v1/debrief/video, a job this page
polls) and cached there per text, so opening the page again plays at once. Each transcript line links to
its incident (which shows its post-mortem). A question goes to /api/v1/debrief/ask with this page's
conversation id, so "and the one after that?" follows on; the answer shows its citations and is spoken
as a short clip by the same avatar.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from tagent.ui.client import ApiClient
from tagent.ui.common import run_page

CONVERSATION, TURNS, VIDEOS = "debrief_conversation", "debrief_turns", "debrief_videos"
RENDER_WAIT = 120.0


def _video(api: ApiClient, job: dict[str, Any], wait: float) -> tuple[bytes, str] | None:
    """The job's file and its type once done (polled for up to `wait` seconds), else None."""
    deadline = time.monotonic() + wait
    while job.get("status") in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.3)
        job = api.get(f"/api/v1/debrief/video/{job['id']}")
    if job.get("status") != "done":
        if job.get("status") == "failed":
            st.warning(f"The video could not be made: {job.get('error')}", icon="🎬")
        return None
    return api._send("GET", f"/api/v1/debrief/video/{job['id']}/file").content, str(job.get("mime") or "video/webm")


def _play(clip: tuple[bytes, str], as_audio: bool) -> None:
    data, mime = clip
    if as_audio:
        st.audio(data, format=mime.replace("video/", "audio/"))
    else:
        st.video(data, format=mime)


def _transcript(story: dict[str, Any]) -> None:
    titles = {i["id"]: i for i in story["incidents"]}
    for line in story["lines"]:
        iid = line.get("incident_id")
        if iid:
            pm = titles.get(iid, {}).get("postmortem")
            st.markdown(f"{line['text']}  \n[incident {iid}](/?incident={iid})"
                        + (f" · post-mortem: *{pm}*" if pm else ""))
        else:
            st.markdown(line["text"])


def _conversation(api: ApiClient, as_audio: bool) -> None:
    for turn in st.session_state[TURNS]:
        with st.chat_message("user"):
            st.markdown(turn["question"])
        with st.chat_message("assistant"):
            st.markdown(turn["answer"])
            for n, c in enumerate(turn["citations"], 1):
                st.markdown(f"[{n}] [incident {c['incident_id']}]({c['link']}) "
                            f"· {c['kind']} at {c.get('local') or c['at'][:19]} · {c['summary']}")
            if turn.get("clip"):
                with st.columns([1, 3])[0]:  # the same face, smaller: the answer's text is the main thing
                    _play(turn["clip"], as_audio)
    question = st.chat_input("Ask about the night: why did it crash? and the one after that? show me the log",
                             key="debrief_question")
    if not question:
        return
    body = {"question": question, "conversation_id": st.session_state.get(CONVERSATION), "video": True}
    reply = api.post("/api/v1/debrief/ask", body)
    st.session_state[CONVERSATION] = reply["conversation_id"]
    job = reply.get("video") or {}
    clip = _video(api, job, 30.0) if job.get("id") else None
    st.session_state[TURNS].append({"question": question, "answer": reply["answer"],
                                    "citations": reply["citations"], "clip": clip})
    st.rerun()


def render(api: ApiClient) -> None:
    st.session_state.setdefault(TURNS, [])
    st.session_state.setdefault(VIDEOS, {})
    left, right = st.columns([3, 1])
    since = right.selectbox("Since", ["12h", "24h", "48h", "7d"], index=1, key="debrief_since")
    as_audio = right.toggle("Sound only", key="debrief_audio_only")
    story = api.get("/api/v1/debrief", since=since)
    with left:
        st.caption(f"Times in {story['timezone']}.")
    video, transcript = st.columns([2, 3])
    with video:
        data = st.session_state[VIDEOS].get(story["text"])
        if data is None:
            with st.spinner("Tagent is getting ready to tell you about the night..."):
                job = api.post("/api/v1/debrief/video", {"text": story["text"], "format": "webm"})
                data = _video(api, job, RENDER_WAIT)
            if data is not None:
                st.session_state[VIDEOS][story["text"]] = data
        if data is not None:
            _play(data, as_audio)
    with transcript:
        st.subheader("Transcript")
        _transcript(story)
    st.divider()
    st.subheader("Ask Tagent")
    _conversation(api, as_audio)


run_page("Debrief", render)
