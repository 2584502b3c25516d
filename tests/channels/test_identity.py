"""The API's user comes from the bearer token: a personal token acts as its user (audit log, timeline), and
cannot name someone else in `user` / `by`; the shared dashboard token keeps naming the person it acts for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.app.engine import Engine
from tagent.model import Incident, Severity, TimelineEntry, WorkloadRef
from tagent.settings import Settings
from tests.api.conftest import API_TOKEN

ASHA, RAVI = "asha-personal-token", "ravi-personal-token"


@pytest.fixture
def app_client(engine: Engine, engine_settings: Settings) -> Iterator[TestClient]:
    app = create_app(engine, settings=engine_settings)
    app.state.api_users = {"asha": SecretStr(ASHA), "ravi": SecretStr(RAVI)}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_personal_token_is_the_user_whatever_the_body_says(app_client: TestClient, engine: Engine) -> None:
    asked = app_client.post("/api/v1/chat", json={"text": "scale cart in shop to 3"}, headers=_as(ASHA)).json()
    assert asked["status"] == "confirm", asked
    spoofed = app_client.post("/api/v1/chat/confirm", json={"token": asked["token"], "user": "asha"},
                              headers=_as(RAVI))
    assert spoofed.status_code == 403 and "authenticated as ravi" in spoofed.json()["detail"]
    other = app_client.post("/api/v1/chat/confirm", json={"token": asked["token"]}, headers=_as(RAVI)).json()
    assert other["status"] == "refused" and other["reason"] == "other_user"
    assert engine.kube.get_deployment("shop", "cart").replicas == 2
    done = app_client.post("/api/v1/chat/confirm", json={"token": asked["token"]}, headers=_as(ASHA)).json()
    assert done["status"] == "done", done
    audit = engine.store.audit.list(limit=50)
    assert any(a.actor == "chat:asha" and a.action == "chat.confirm" and a.result == "done" for a in audit)
    assert not any(a.actor == "chat:dashboard" for a in audit)

    for token in ("", "wrong", ASHA + "x"):
        assert app_client.post("/api/v1/chat", json={"text": "list nodes"}, headers=_as(token)).status_code == 401


def test_timelines_show_the_token_user_and_the_shared_token_names_its_person(
        app_client: TestClient, engine: Engine) -> None:
    now = engine.clock()
    target = WorkloadRef(namespace="shop", name="cart")
    incident, _ = engine.store.incidents.open(Incident(
        fingerprint="x/shop/cart", rule="crashloop-restart", target=target, severity=Severity.critical,
        opened_at=now, timeline=[TimelineEntry(at=now, kind="event", summary="cart crash-loops")]))
    refused = app_client.post(f"/api/v1/incidents/{incident.id}/ack", json={"by": "bob"}, headers=_as(ASHA))
    assert refused.status_code == 403
    acked = app_client.post(f"/api/v1/incidents/{incident.id}/ack", json={}, headers=_as(ASHA))
    assert acked.status_code == 200 and acked.json()["timeline"][-1]["data"] == {"by": "asha"}
    shared = app_client.post(f"/api/v1/incidents/{incident.id}/ack", json={"by": "meera"}, headers=_as(API_TOKEN))
    assert shared.status_code == 200 and shared.json()["timeline"][-1]["data"] == {"by": "meera"}
