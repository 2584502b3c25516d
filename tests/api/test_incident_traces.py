"""An incident's traces (`GET /api/v1/incidents/{id}/traces`: its service, its window, errors first) and the
post-mortem quoting one of them, from real OTLP spans the OpenTelemetry SDK sent to the engine's /v1/traces."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx

from tagent.app.engine import Engine
from tagent.debrief.traces import quote_trace
from tagent.model import Incident, Severity, TimelineEntry, WorkloadRef
from tests.api.conftest import API_TOKEN, WEBHOOK_TOKEN
from tests.dashboard.shop_spans import CHAIN, send_traffic, shop

IST = ZoneInfo("Asia/Kolkata")


def _incident(engine: Engine, name: str) -> Incident:
    now = engine.clock()
    target = WorkloadRef(namespace="shop", name=name)
    incident, _ = engine.store.incidents.open(Incident(
        fingerprint=f"error-spike-rollback/{target.key}", rule="error-spike-rollback", target=target,
        severity=Severity.critical, opened_at=now, rules_version=engine.detector.version,
        timeline=[TimelineEntry(at=now, kind="event", summary=f"{target} answers 500s")]))
    return incident


def test_incident_traces_errors_first_and_the_post_mortem_quotes_one(api_url: str, engine: Engine) -> None:
    failing, slow = send_traffic(f"{api_url}/v1/traces", WEBHOOK_TOKEN)
    with shop(f"{api_url}/v1/traces", WEBHOOK_TOKEN) as sender:  # the newest error is a 404, not the incident
        not_found = sender.request(start_ns=time.time_ns() - 10**10, failing="payment-service", failing_status=404)
        sender.flush()
    assert engine.traces is not None and engine.traces.flush()
    http = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=10)

    paying = _incident(engine, "payment-service")
    found = http.get(f"/api/v1/incidents/{paying.id}/traces").json()
    assert found["service"] == "shop/payment-service"
    assert found["since"] == (paying.opened_at - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    traces = found["traces"]
    assert len(traces) == 20 and [t["error"] for t in traces] == [True] * 3 + [False] * 17
    assert [t["trace_id"] for t in traces[:2]] == [not_found, failing]  # errors first, the newest of them first
    assert slow in [t["trace_id"] for t in traces]
    assert all(t["services"] == [f"shop/{s}" for s in CHAIN] for t in traces)
    assert len(http.get(f"/api/v1/incidents/{paying.id}/traces", params={"limit": 1}).json()["traces"]) == 1
    assert http.get("/api/v1/incidents/nope/traces").status_code == 404
    assert http.get(f"/api/v1/incidents/{paying.id}/traces", params={"limit": 0}).status_code == 422

    # the engine's own post-mortem writer (wired by build_engine) quotes the newest trace where the service
    # itself answered 5xx, not the newer 404
    assert engine.incidents is not None
    markdown = engine.incidents.outbox.postmortems.write(paying, engine.clock()).markdown
    section = markdown.split("## A trace from the incident", 1)[1].split("## Timeline", 1)[0]
    assert f"Trace `{failing}`" in section and " IST, took " in section
    assert "across 5 services (shop/frontend → shop/cart → shop/checkout → shop/payment-service → " \
           "shop/postgres)" in section
    assert "4 of its 5 spans failed, starting in shop/payment-service `POST /pay`, HTTP 500." in section
    assert "| +0.0 ms | shop/frontend | `GET /` | 36.0 ms | error (500) |" in section
    assert "| +16.0 ms | shop/postgres | `SELECT payments` | 4.0 ms | unset (200) |" in section

    quiet = _incident(engine, "redis-cache")  # no span ever came from it
    assert http.get(f"/api/v1/incidents/{quiet.id}/traces").json()["traces"] == []
    markdown = engine.incidents.outbox.postmortems.write(quiet, engine.clock()).markdown
    assert "No trace of shop/redis-cache was recorded between " in markdown


def test_without_a_trace_store_the_quote_says_none_was_recorded(engine: Engine) -> None:
    incident = _incident(engine, "cart")
    lines = quote_trace(None, incident, incident.opened_at + timedelta(minutes=1), tz=IST)
    assert lines[0] == "## A trace from the incident"
    assert lines[2].startswith("No trace was recorded: this engine receives no spans (shop/cart, between ")
    assert lines[2].endswith(" IST).")
