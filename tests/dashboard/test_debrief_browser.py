"""The Debrief page in headless Chromium (Debian's, via Playwright): the avatar's video plays with its sound,
the transcript names the night in the team's time, and two follow-up questions get answers with citations."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tagent.app.engine import Engine
from tagent.model import IncidentStatus
from tests.dashboard.test_browser import ARGS, CHROMIUM, _settled, dashboard  # noqa: F401 - the fixture
from tests.debrief.nightdata import add

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="Debian chromium is not installed (make system-deps installs it)")]

PLAYING = """async () => {
  const v = document.querySelector('video');
  v.muted = true;  // headless autoplay policy; the audio track is checked by the API and CLI tests
  await v.play();
  await new Promise(r => setTimeout(r, 1500));
  return {ready: v.readyState, duration: v.duration, time: v.currentTime, paused: v.paused,
          error: v.error && v.error.code, width: v.videoWidth, height: v.videoHeight};
}"""


def test_the_debrief_plays_and_answers_follow_ups(dashboard: str, engine: Engine,  # noqa: F811 - the fixture
                                                   tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    now = engine.clock()
    pay = add(engine.store, "payment-service", "crashloop-restart", IncidentStatus.resolved, now - timedelta(hours=5),
              "kubernetes.rollout_restart")
    checkout = add(engine.store, "checkout", "bad-deploy-rollback", IncidentStatus.resolved,
                   now - timedelta(hours=3), "kubernetes.rollout_undo", reason="RolloutStarted")
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=[*ARGS, "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.on("console", lambda m: problems.append(f"console: {m.text} @ {m.location}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(dashboard)  # and through the sidebar, as a person would (a sub-path URL makes Streamlit
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Debrief", exact=True).click()  # probe 404s)
            page.wait_for_url(f"{dashboard}/debrief")
            page.get_by_role("heading", name="Debrief", level=1).wait_for(timeout=30_000)
            page.locator("video").first.wait_for(timeout=120_000)  # rendered by the engine, then served
            played = page.evaluate(PLAYING)
            assert played["error"] is None and played["ready"] >= 2, played
            assert played["duration"] > 10 and played["time"] > 0.5, played
            assert (played["width"], played["height"]) == (320, 320), played
            body = page.inner_text("body")
            assert "Times in Asia/Kolkata." in body
            for incident in (pay, checkout):
                assert incident.target.name in body and f"incident {incident.id}" in body
            assert body.count(" IST") >= 4

            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("why did it crash?")
            box.press("Enter")
            messages = page.locator('[data-testid="stChatMessage"]')
            messages.nth(1).get_by_text("What the evidence says about payment-service").wait_for(timeout=60_000)
            box.fill("and the one after that?")
            box.press("Enter")
            messages.nth(3).get_by_text("Tagent rolled it back.").wait_for(timeout=60_000)
            _settled(page)
            answers = messages.all_inner_texts()
            assert len(answers) == 4, answers
            assert "CrashLoopBackOff" in answers[1] and f"[1] incident {pay.id}" in answers[1]
            assert "checkout" in answers[3] and f"incident {checkout.id}" in answers[3]
            assert page.locator("video").count() >= 3  # the night, and each answer spoken by the avatar
            page.screenshot(path=str(tmp_path / "debrief.png"), full_page=True)
        finally:
            browser.close()
    if target := os.environ.get("TAGENT_TEST_ARTIFACTS"):
        shutil.copy(tmp_path / "debrief.png", Path(target) / "debrief.png")
    assert problems == [], "\n".join(problems)
