"""Decisions with verdicts, events, audit and savings after a real fault on the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.model import WorkloadRef
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_a_crashloop_shows_up_as_events_decisions_and_verdicts(api: TestClient, sandbox: Sandbox) -> None:
    sandbox.inject("crashloop", "shop", "cart")
    decisions = wait_for(lambda: [d for d in api.get("/api/v1/decisions").json()
                                  if d["rule"] == "crashloop-restart"], timeout=30)
    assert isinstance(decisions, list)
    first = decisions[-1]  # newest first: the oldest one started the cooldown
    assert first["target"] == {"kind": "Deployment", "namespace": "shop", "name": "cart"}
    assert first["playbook"] == "restart-workload"
    assert first["allowed"] is True and first["reason"] == "ok"
    assert all(d["reason"] == "cooldown" and d["allowed"] is False for d in decisions[:-1])
    only = api.get("/api/v1/decisions", params={"rule": "crashloop-restart", "limit": 1}).json()
    assert len(only) == 1

    verdicts = api.get("/api/v1/verdicts").json()
    assert any(v["decision_id"] == first["id"] and v["allowed"] for v in verdicts)
    refused = api.get("/api/v1/verdicts", params={"allowed": False}).json()
    assert all(not v["allowed"] for v in refused)

    events = api.get("/api/v1/events", params={"kind": "PodState"}).json()
    assert any(e["reason"] == "CrashLoopBackOff" and e["target"]["name"] == "cart" for e in events)
    assert all(e["kind"] == "PodState" for e in events)


def test_audit_and_savings(api: TestClient, engine: Engine) -> None:
    now = engine.clock()
    ref = WorkloadRef(namespace="test", name="test-env")
    engine.store.audit.add(at=now, actor="chat:asha", action="kubernetes.scale", target_key=ref.key, result="ok",
                           namespace="test", command="kubectl scale deployment/test-env -n test --replicas=0")
    audit = api.get("/api/v1/audit").json()
    assert audit[0]["actor"] == "chat:asha"
    assert audit[0]["command"] == "kubectl scale deployment/test-env -n test --replicas=0"

    engine.store.savings.open(ref, from_replicas=3, to_replicas=1, at=now - timedelta(hours=2))
    savings = api.get("/api/v1/savings").json()
    assert savings["entries"][0]["target"] == ref.model_dump()
    assert (savings["entries"][0]["from"], savings["entries"][0]["to"]) == (3, 1)
    assert savings["entries"][0]["replica_hours"] == pytest.approx(4.0, abs=0.01)  # 2 replicas for 2 hours
    assert savings["replica_hours_saved"] == pytest.approx(4.0, abs=0.01)
    assert api.get("/api/v1/overview").json()["replica_hours_saved"] == pytest.approx(4.0, abs=0.01)
