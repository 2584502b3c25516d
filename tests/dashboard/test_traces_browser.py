"""Issue 15 in headless Chromium: the Services page shows a service's RED numbers and the waterfall of a trace
across the shop, fed by real OTLP spans (the OpenTelemetry SDK's exporter posting to the engine's /v1/traces),
and an incident's page links to the traces of its window, errors first, each opening its waterfall."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tagent.app.engine import Engine
from tagent.model import Incident, Severity, TimelineEntry, WorkloadRef
from tests.api.conftest import API_TOKEN, WEBHOOK_TOKEN, wait_for
from tests.dashboard.shop_spans import CHAIN, send_traffic
from tests.dashboard.test_browser import ARGS, CHROMIUM, _settled, dashboard  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="Debian chromium is not installed (make system-deps installs it)")]


def _red(api_url: str, service: str) -> dict[str, Any]:
    response = httpx.get(f"{api_url}/api/v1/services/{service}/red", params={"window": "15m"},
                         headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def _incident(engine: Engine) -> Incident:
    now = engine.clock()
    target = WorkloadRef(namespace="shop", name="payment-service")
    incident, _ = engine.store.incidents.open(Incident(
        fingerprint=f"error-spike-rollback/{target.key}", rule="error-spike-rollback", target=target,
        severity=Severity.critical, opened_at=now, rules_version=engine.detector.version,
        timeline=[TimelineEntry(at=now, kind="event", summary="shop/payment-service answers 500s")]))
    return incident


def _probe(url: str) -> bool:
    """Streamlit's client, opened at a page's URL (/services?...), first looks for its server under that path
    (/services/_stcore/health, .../host-config), gets 404 and then uses the root: its probe, not a fault."""
    return "/services/_stcore/" in url


def _metric(page: Any, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return str(box.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def test_services_page_shows_red_and_a_waterfall_across_the_shop(dashboard: str, api_url: str,  # noqa: F811
                                                                  engine: Engine, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    failing, slow = send_traffic(f"{api_url}/v1/traces", WEBHOOK_TOKEN)
    red = wait_for(lambda: (r := _red(api_url, "shop/frontend"))["requests"] >= 20 and r, timeout=20)
    assert isinstance(red, dict) and red["source"] == "spans" and red["error_ratio"] == pytest.approx(0.1)
    incident = _incident(engine)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    problems: list[str] = []
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(str(tmp_path / "chromium-profile"),
                                                        executable_path=CHROMIUM, headless=True, args=ARGS,
                                                        viewport={"width": 1400, "height": 2800})
        try:
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console: {m.text} @ {m.location}")
                    if m.type == "error" and not _probe(m.location.get("url", "")) else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(f"{dashboard}/services?service=shop/frontend")
            page.get_by_text("Waterfall of trace", exact=False).first.wait_for(timeout=30_000)
            _settled(page)
            body = page.inner_text("body")
            assert "Traceback" not in body and "unreachable" not in body.lower(), body[:2000]
            assert "shop/frontend · Node.js" in body and "telemetry.sdk.language=nodejs" in body
            rate = _metric(page, "Request rate")
            assert rate.endswith("/s") and float(rate.split()[0]) > 0, rate
            assert _metric(page, "Error ratio") == "10.0 %"
            for label in ("p50 latency", "p95 latency", "p99 latency"):
                value = _metric(page, label)
                assert value.endswith(" ms") or value.endswith(" s"), (label, value)
            assert "computed from the spans the engine received" in body
            # the newest trace's waterfall: every service of the chain drawn as its own legend entry
            assert "5 spans across 5 services" in body
            legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
            assert {f"shop/{s}" for s in CHAIN} <= set(legend), legend
            assert page.locator(".js-plotly-plot .bars path").count() >= 5
            page.screenshot(path=str(shots / "services-traces.png"), full_page=True)
            page.locator(".js-plotly-plot").last.screenshot(path=str(shots / "waterfall.png"))

            page.goto(f"{dashboard}/?incident={incident.id}")  # the incident's traces, errors first
            page.get_by_text("with errors (listed first)", exact=False).first.wait_for(timeout=30_000)
            _settled(page)
            links = page.locator('[data-testid="stPageLink"] a')
            assert links.count() >= 3
            first = links.first.inner_text()
            assert "✖" in first, first
            links.first.click()
            page.wait_for_url(re.compile(r"/services\?"))
            page.get_by_text(f"Waterfall of trace {failing}", exact=False).first.wait_for(timeout=30_000)
            _settled(page)
            body = page.inner_text("body")
            assert "with errors (✖)" in body and "shop/payment-service" in body
            page.screenshot(path=str(shots / "incident-trace.png"), full_page=True)
        finally:
            context.close()
    if target := os.environ.get("TAGENT_TEST_ARTIFACTS"):
        shutil.copytree(shots, Path(target) / "dashboard-screenshots", dirs_exist_ok=True)
    assert slow, "the slow request was sent"
    assert problems == [], "\n".join(problems)
