"""Alertmanager webhook -> Alert events matched by the engine; Twilio callbacks with real signatures."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from tagent.app.engine import Engine
from tagent.model import Incident, WorkloadRef
from tagent.notify import gather_path, status_path
from tagent.sandbox import Sandbox
from tests.api.conftest import PUBLIC_URL, TWILIO_TOKEN, WEBHOOK_TOKEN, wait_for

HOOK = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}


def _payload(pod: str) -> dict[str, Any]:
    return {
        "version": "4", "status": "firing", "receiver": "tagent", "groupKey": "{}:{}",
        "commonAnnotations": {"summary": "checkout is slow"},
        "alerts": [
            {"status": "firing", "labels": {"alertname": "HighLatency", "namespace": "shop", "pod": pod},
             "annotations": {}, "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "abc"},
            {"status": "resolved", "labels": {"alertname": "DiskFull", "namespace": "shop", "pod": pod},
             "annotations": {"summary": "disk ok again"}},
        ],
    }


def test_alertmanager_alerts_become_events(anon: TestClient, engine: Engine, sandbox: Sandbox) -> None:
    pod = next(p.name for p in engine.kube.list_pods("shop") if p.name.startswith("checkout-"))
    answer = anon.post("/api/alerts/alertmanager", json=_payload(pod), headers=HOOK)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 2}
    stored = wait_for(lambda: len(found := [e for e in engine.store.events.list(limit=500) if e.source == "alert"])
                      == 2 and found)
    assert isinstance(stored, list)
    by_kind = {e.kind: e for e in stored}
    assert set(by_kind) == {"Alert", "AlertResolved"}
    assert by_kind["Alert"].reason == "HighLatency"
    assert by_kind["Alert"].target == WorkloadRef(kind="Deployment", namespace="shop", name="checkout")
    assert by_kind["Alert"].message == "checkout is slow"
    assert by_kind["AlertResolved"].message == "disk ok again"


def test_alertmanager_bad_bodies_get_one_sentence(anon: TestClient) -> None:
    not_json = anon.post("/api/alerts/alertmanager", content=b"{nope", headers=HOOK)
    assert not_json.status_code == 400
    assert not_json.json() == {"detail": "the body is not valid JSON"}
    wrong = anon.post("/api/alerts/alertmanager", json={"version": "3", "status": "firing", "alerts": []},
                      headers=HOOK)
    assert wrong.status_code == 422
    assert wrong.json()["detail"].startswith("alertmanager webhook: version:")
    nameless = anon.post("/api/alerts/alertmanager", headers=HOOK, json={
        "version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"namespace": "shop"}}]})
    assert nameless.status_code == 422
    assert nameless.json() == {"detail": "alertmanager webhook: alerts.0.labels: alertname is required"}


def _incident(engine: Engine) -> Incident:
    incident, _ = engine.store.incidents.open(Incident(fingerprint="crashloop-restart/cart", rule="crashloop-restart",
                                                       target=WorkloadRef(namespace="shop", name="cart")))
    return incident


def _signed(path: str, params: dict[str, str]) -> dict[str, str]:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, params)
    return {"X-Twilio-Signature": signature}


def test_twilio_gather_press_1_acknowledges(anon: TestClient, engine: Engine) -> None:
    incident = _incident(engine)
    path = gather_path(incident.id)
    params = {"CallSid": "CA123", "Digits": "1", "From": "+15550001111"}
    answer = anon.post(path, data=params, headers=_signed(path, params))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert "Acknowledged" in answer.text and "<Hangup" in answer.text
    stored = engine.store.incidents.get(incident.id)
    assert stored is not None and stored.acknowledged_at is not None
    assert stored.timeline[-1].data == {"by": "phone:CA123"}


def test_twilio_tampered_or_unsigned_callbacks_are_refused(anon: TestClient, engine: Engine) -> None:
    incident = _incident(engine)
    path = gather_path(incident.id)
    signed_for = {"CallSid": "CA123", "Digits": "1"}
    tampered = anon.post(path, data={**signed_for, "Digits": "2"}, headers=_signed(path, signed_for))
    assert tampered.status_code == 403
    assert tampered.json() == {"detail": "twilio callback rejected: bad or missing X-Twilio-Signature"}
    assert anon.post(path, data=signed_for).status_code == 403
    other_incident = anon.post(gather_path("someone-else"), data=signed_for, headers=_signed(path, signed_for))
    assert other_incident.status_code == 403
    stored = engine.store.incidents.get(incident.id)
    assert stored is not None and stored.acknowledged_at is None


def test_twilio_other_digits_and_status_callbacks(anon: TestClient, engine: Engine) -> None:
    incident = _incident(engine)
    path = gather_path(incident.id)
    params = {"CallSid": "CA9", "Digits": "9"}
    again = anon.post(path, data=params, headers=_signed(path, params))
    assert again.status_code == 200
    assert "<Gather" in again.text and PUBLIC_URL + path in again.text
    fix = {"CallSid": "CA9", "Digits": "2"}
    fixed = anon.post(path, data=fix, headers=_signed(path, fix))
    assert fixed.status_code == 200
    assert "that key does nothing" in fixed.text  # nothing waits for approval on this incident

    spath = status_path(incident.id)
    status = {"CallSid": "CA9", "CallStatus": "completed", "To": "+15550001111"}
    done = anon.post(spath, data=status, headers=_signed(spath, status))
    assert done.status_code == 204
    stored = engine.store.incidents.get(incident.id)
    assert stored is not None
    assert (stored.timeline[-1].kind, stored.timeline[-1].summary) == ("call", "call completed")
    assert anon.post(spath, data=status, headers=_signed(spath, {**status, "CallStatus": "busy"})).status_code == 403
    unknown = anon.post(gather_path("nope"), data=params, headers=_signed(gather_path("nope"), params))
    assert unknown.status_code == 404
