"""Chat over the API: a read is answered at once; a mutation waits for its one-time token, then runs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tests.api.conftest import wait_for


def test_a_read_is_answered_from_the_live_cluster(api: TestClient) -> None:
    reply = api.post("/api/v1/chat", json={"text": "How many servers are running right now?"}).json()
    assert reply["status"] == "answered"
    assert reply["intent"]["intent"] == "get"
    assert reply["token"] is None
    assert "3" in reply["answer"]


def test_scale_after_confirmation(api: TestClient, engine: Engine) -> None:
    reply = api.post("/api/v1/chat", json={"text": "Scale the cart to 3 replicas", "user": "asha"}).json()
    assert reply["status"] == "confirm", reply
    assert reply["intent"]["command"] == "kubectl scale deployment/cart -n shop --replicas=3"
    assert reply["token"]
    assert engine.kube.get_deployment("shop", "cart").replicas == 2  # nothing ran yet

    other_user = api.post("/api/v1/chat/confirm", json={"token": reply["token"], "user": "mallory"}).json()
    assert other_user["status"] == "refused" and other_user["reason"] == "other_user"

    result = api.post("/api/v1/chat/confirm", json={"token": reply["token"], "user": "asha"}).json()
    assert result["status"] == "done", result
    assert result["step"]["status"] == "ok"
    assert wait_for(lambda: engine.kube.get_deployment("shop", "cart").replicas == 3)
    again = api.post("/api/v1/chat/confirm", json={"token": reply["token"], "user": "asha"}).json()
    assert again["status"] == "refused" and again["reason"] == "used"
    audit = api.get("/api/v1/audit").json()
    assert any(a["actor"] == "chat:asha" and a["action"] == "chat.confirm" and a["result"] == "done" for a in audit)


def test_decline_spends_the_token(api: TestClient, engine: Engine) -> None:
    reply = api.post("/api/v1/chat", json={"text": "restart checkout"}).json()
    assert reply["status"] == "confirm", reply
    declined = api.post("/api/v1/chat/decline", json={"token": reply["token"]}).json()
    assert declined["status"] == "declined"
    late = api.post("/api/v1/chat/confirm", json={"token": reply["token"]}).json()
    assert late["status"] == "refused" and late["reason"] == "declined"
    assert api.post("/api/v1/chat", json={"text": ""}).status_code == 422
