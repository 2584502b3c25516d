"""Probes need no token; every /api/v1 route needs the API token; webhooks take only their own token."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.model import Event, EventSource, WorkloadRef
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tests.api.conftest import API_TOKEN, WEBHOOK_TOKEN
from tests.waiting import wait_for

PROTECTED = ["/api/v1/overview", "/api/v1/inventory", "/api/v1/nodes", "/api/v1/workloads/shop/cart",
             "/api/v1/incidents", "/api/v1/postmortems", "/api/v1/rules", "/api/v1/decisions", "/api/v1/verdicts",
             "/api/v1/audit", "/api/v1/events", "/api/v1/savings"]


def test_probes_and_metrics_need_no_token(anon: TestClient, engine: Engine) -> None:
    assert anon.get("/healthz").json() == {"status": "ok"}
    ready = anon.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"store": True, "cluster": True, "rules": True}}
    engine.metrics.events.labels(source="alert").inc(0)  # make sure one labelled series exists
    metrics = anon.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "tagent_events_total" in metrics.text
    assert "tagent_match_seconds_bucket" in metrics.text


def test_readyz_is_503_when_the_cluster_is_gone(anon: TestClient, sandbox: Sandbox) -> None:
    sandbox.stop()
    answer = anon.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"ready": False, "checks": {"store": True, "cluster": False, "rules": True}}
    assert anon.get("/healthz").status_code == 200  # alive, just not ready


def test_api_routes_need_the_bearer_token(anon: TestClient) -> None:
    for path in PROTECTED:
        answer = anon.get(path)
        assert answer.status_code == 401, path
        assert answer.json() == {"detail": "missing or wrong bearer token for tagent-api"}
        assert answer.headers["www-authenticate"].startswith("Bearer")
        wrong = anon.get(path, headers={"Authorization": f"Bearer {API_TOKEN}x"})
        assert wrong.status_code == 401, path
    for method, path in (("post", "/api/v1/rules/reload"), ("post", "/api/v1/chat"),
                         ("post", "/api/v1/incidents/x/ack")):
        assert getattr(anon, method)(path, json={}).status_code == 401, path
    ok = anon.get("/api/v1/nodes", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert ok.status_code == 200


def test_webhook_takes_its_own_token_not_the_api_one(anon: TestClient) -> None:
    body = {"version": "4", "status": "firing", "alerts": []}
    assert anon.post("/api/alerts/alertmanager", json=body).status_code == 401
    api_token = anon.post("/api/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert api_token.status_code == 401
    assert api_token.json()["detail"] == "missing or wrong bearer token for tagent-webhooks"
    ok = anon.post("/api/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
    assert ok.status_code == 200
    assert ok.json() == {"accepted": 0}


def test_no_cors_headers(api: TestClient) -> None:
    answer = api.options("/api/v1/overview", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in answer.headers
    got = api.get("/api/v1/nodes", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in got.headers


def test_metrics_show_events_waiting_to_be_matched(engine_settings: Settings) -> None:
    """`tagent_intake_waiting`: what a storm has queued and the dispatcher has not matched yet (here nothing
    dispatches: the engine is built, not started), then 0 once it drained."""
    built = build_engine(engine_settings, source_interval=1.0)
    try:
        for n in range(3):
            built.ingest(Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff",
                               target=WorkloadRef(namespace="shop", name=f"w{n}")))
        assert built.metrics.registry.get_sample_value("tagent_intake_waiting") == 3
        built.start()
        wait_for(lambda: built.metrics.registry.get_sample_value("tagent_intake_waiting") == 0, 10, "a drained intake")
    finally:
        built.stop(timeout=5)
        built.store.close()
        built.kube.close()
