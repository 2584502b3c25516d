"""The running dashboard in headless Chromium (Debian's, never a downloaded browser), via Playwright.

`tagent dashboard` is started as a subprocess on a free port against a real engine API on the sandbox;
every page is opened from the sidebar, its content checked, a screenshot saved (under tmp_path, and copied to
$TAGENT_TEST_ARTIFACTS when set), and the browser console must stay free of errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagent.app.engine import Engine
from tagent.model import Incident, Severity, TimelineEntry, WorkloadRef
from tests.api.conftest import API_TOKEN
from tests.api.server import serve  # noqa: F401 - documents where the API server comes from
from tests.fixtures.services import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = [  # url path, title, text that proves live data
    ("", "Overview", "Nodes ready"),
    ("services", "Services", "Recent logs"),
    ("incidents", "Incidents", "crashloop-restart on shop/cart"),
    ("documentation", "Documentation", "Search post-mortems"),
    ("rules", "Rules", "Active version"),
    ("chat", "Chat", "how many servers are running?"),
    ("debrief", "Debrief", "Transcript"),
]

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="Debian chromium is not installed (make system-deps installs it)")]


@pytest.fixture
def dashboard(api_url: str, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "TAGENT_API_TOKEN": API_TOKEN, "HOME": str(tmp_path)}
    log = (tmp_path / "dashboard.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tagent", "dashboard", "--api", api_url, "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start:\n{(tmp_path / 'dashboard.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


def _incident(engine: Engine) -> Incident:
    now = engine.clock()
    target = WorkloadRef(namespace="shop", name="cart")
    incident, _ = engine.store.incidents.open(Incident(
        fingerprint=f"crashloop-restart/{target.key}", rule="crashloop-restart", target=target,
        severity=Severity.critical, opened_at=now, rules_version=engine.detector.version,
        timeline=[TimelineEntry(at=now, kind="event", summary="shop/cart crash-loops")]))
    return incident


def _settled(page: Any) -> None:
    """The script run finished and charts/tables had a moment to paint (for a useful screenshot)."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=30_000)
    page.wait_for_timeout(700)


def test_every_page_in_chromium(dashboard: str, engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    incident = _incident(engine)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    problems: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(str(tmp_path / "chromium-profile"),
                                                        executable_path=CHROMIUM, headless=True, args=ARGS,
                                                        viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console: {m.text} @ {m.location}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(dashboard)
            for path, title, proof in PAGES:  # through the sidebar, as a person would
                page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
                page.wait_for_url(f"{dashboard}/{path}")
                page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)
                page.get_by_text(proof, exact=False).first.wait_for(timeout=30_000)
                _settled(page)
                body = page.inner_text("body")
                assert "unreachable" not in body.lower(), (path, body[:500])
                assert "Traceback" not in body, (path, body[:2000])
                assert API_TOKEN not in page.content()
                page.screenshot(path=str(shots / f"{path or 'overview'}.png"), full_page=True)

            page.goto(f"{dashboard}/?incident={incident.id}")  # a notification's link
            page.get_by_text("crashloop-restart on shop/cart").first.wait_for(timeout=30_000)
            _settled(page)
            page.screenshot(path=str(shots / "incident-link.png"), full_page=True)
        finally:
            context.close()
    if target := os.environ.get("TAGENT_TEST_ARTIFACTS"):
        shutil.copytree(shots, Path(target) / "dashboard-screenshots", dirs_exist_ok=True)
    assert sorted(p.name for p in shots.iterdir()) == sorted(
        [f"{p or 'overview'}.png" for p, _, _ in PAGES] + ["incident-link.png"])
    assert problems == [], "\n".join(problems)


def test_pages_opened_by_their_url_keep_the_apps_navigation(dashboard: str, engine: Engine) -> None:
    """Issue 14: /incidents opened directly showed Streamlit's file-based navigation (lower-case file names, no
    sidebar header), because the pages lived in a directory Streamlit scans on its own."""
    from playwright.sync_api import sync_playwright

    titles = [title for _, title, _ in PAGES]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for path, title, _ in PAGES[1:]:
                page.goto(f"{dashboard}/{path}")  # a bookmark, a link pasted in chat: a fresh session
                page.get_by_role("heading", name=title, level=1).wait_for(timeout=30_000)
                _settled(page)
                nav = page.locator('[data-testid="stSidebarNav"]')
                links = [text.strip() for text in nav.locator("a").all_inner_texts()]
                # the seven titles in order (each after its icon's ligature), never the files' lower-case names
                assert [next((t for t in titles if line.endswith(t)), line) for line in links] == titles, (path, links)
                sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
                assert "Tagent" in sidebar and "API connected" in sidebar, (path, sidebar[:300])
        finally:
            browser.close()
