"""Incidents and post-mortems through the API; acknowledge/approve/deny without and with the manager."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.debrief.postmortem import render_postmortem
from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for

CART = WorkloadRef(namespace="shop", name="cart")
FRONTEND = WorkloadRef(namespace="shop", name="frontend")


def _open(engine: Engine, target: WorkloadRef, rule: str, severity: Severity) -> Incident:
    now = engine.clock()
    incident = Incident(fingerprint=f"{rule}/{target.key}", rule=rule, target=target, severity=severity,
                        rules_version=engine.detector.version, opened_at=now,
                        timeline=[TimelineEntry(at=now, kind="event", summary=f"{target} crash-loops"),
                                  TimelineEntry(at=now, kind="decision", summary=f"{rule} matched")])
    created, fresh = engine.store.incidents.open(incident)
    assert fresh
    return created


def test_list_filters_and_detail(api: TestClient, engine: Engine) -> None:
    crit = _open(engine, CART, "crashloop-restart", Severity.critical)
    warn = _open(engine, FRONTEND, "high-cpu-scale-up", Severity.warning)
    engine.store.incidents.set_status(warn.id, IncidentStatus.resolved, at=engine.clock())

    listed = api.get("/api/v1/incidents").json()
    assert {i["id"] for i in listed} == {crit.id, warn.id}
    assert all(i["timeline"] == [] for i in listed)  # lists come without timelines
    assert [i["id"] for i in api.get("/api/v1/incidents", params={"severity": "critical"}).json()] == [crit.id]
    assert [i["id"] for i in api.get("/api/v1/incidents", params={"status": "resolved"}).json()] == [warn.id]
    assert len(api.get("/api/v1/incidents", params={"limit": 1}).json()) == 1
    bad = api.get("/api/v1/incidents", params={"status": "sleeping"})
    assert bad.status_code == 422
    assert isinstance(bad.json()["detail"], str) and bad.json()["detail"].startswith("query.status:")

    detail = api.get(f"/api/v1/incidents/{crit.id}").json()
    assert detail["rule"] == "crashloop-restart"
    assert [e["kind"] for e in detail["timeline"]] == ["event", "decision"]
    assert detail["proposal"] is None
    assert detail["runs"] == []
    assert detail["has_postmortem"] is False
    missing = api.get("/api/v1/incidents/nope")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no incident nope"}


def test_acknowledge_is_recorded_on_the_timeline(api: TestClient, engine: Engine) -> None:
    incident = _open(engine, CART, "crashloop-restart", Severity.critical)
    answer = api.post(f"/api/v1/incidents/{incident.id}/ack", json={"by": "asha"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["acknowledged_at"] is not None
    assert body["timeline"][-1]["kind"] == "ack"
    assert body["timeline"][-1]["data"] == {"by": "asha"}
    stored = engine.store.incidents.get(incident.id)
    assert stored is not None and stored.acknowledged_at is not None
    typo = api.post(f"/api/v1/incidents/{incident.id}/ack", json={"bye": "asha"})
    assert typo.status_code == 422
    assert typo.json()["detail"] == "body.bye: Extra inputs are not permitted"


def test_proposal_lists_the_pending_playbook(api: TestClient, engine: Engine) -> None:
    incident = _open(engine, CART, "crashloop-restart", Severity.critical)
    run = engine.store.runs.create("restart-workload", CART, at=engine.clock(), incident_id=incident.id)
    approval, _token = engine.store.approvals.request(
        at=engine.clock(), run_id=run.id, incident_id=incident.id, action="kubernetes.rollout_restart",
        target_key=CART.key, summary="restart shop/cart", expires_at=engine.clock() + timedelta(minutes=30))
    detail = api.get(f"/api/v1/incidents/{incident.id}").json()
    proposal = detail["proposal"]
    assert proposal["approval_id"] == approval.id
    assert proposal["playbook"] == "restart-workload"
    assert [s["action"] for s in proposal["steps"]] == [
        s.action for s in engine.ruleset.playbooks["restart-workload"].spec.steps]
    assert detail["runs"][0]["id"] == run.id
    assert detail["runs"][0]["playbook"] == "restart-workload"


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_approving_runs_the_playbook_and_denying_stops_it(request: pytest.FixtureRequest, rules_dir: Path,
                                                          sandbox: Sandbox) -> None:
    for name in ("crashloop-restart", "oomkilled-restart"):  # ask a person first instead of acting at once
        path = rules_dir / "rules" / f"{name}.yaml"
        path.write_text(path.read_text().replace("mode: auto", "mode: approve"))
    engine: Engine = request.getfixturevalue("engine")
    api: TestClient = request.getfixturevalue("api")
    assert engine.ruleset.rules["crashloop-restart"].spec.mode.value == "approve"

    def proposed(name: str) -> dict[str, Any] | None:
        for item in api.get("/api/v1/incidents").json():
            if item["target"]["name"] == name:
                detail = api.get(f"/api/v1/incidents/{item['id']}").json()
                return detail if detail["proposal"] else None
        return None

    sandbox.inject("crashloop", "shop", "cart")
    detail = wait_for(lambda: proposed("cart"), timeout=30)
    assert isinstance(detail, dict)
    assert detail["proposal"]["playbook"] == "restart-workload"
    assert [s["action"] for s in detail["proposal"]["steps"]] == ["kubernetes.rollout_restart",
                                                                   "kubernetes.wait_healthy"]
    before = engine.kube.get_deployment("shop", "cart").revision
    approved = api.post(f"/api/v1/incidents/{detail['id']}/approve", json={"by": "asha"})
    assert approved.status_code == 200, approved.text
    assert any(e["kind"] == "approval" and e["summary"] == "approved by asha" for e in approved.json()["timeline"])
    ran = wait_for(lambda: [s for r in api.get(f"/api/v1/incidents/{detail['id']}").json()["runs"]
                            for s in r["steps"] if s["action"] == "kubernetes.rollout_restart" and s["status"] == "ok"],
                   timeout=30)
    assert ran and "kubectl rollout restart deployment/cart -n shop" in ran[0]["command"].lower()
    assert engine.kube.get_deployment("shop", "cart").revision > before  # the restart really happened
    again = api.post(f"/api/v1/incidents/{detail['id']}/approve", json={"by": "asha"})
    assert again.status_code == 409

    sandbox.inject("oom", "shop", "checkout")
    other = wait_for(lambda: proposed("checkout"), timeout=30)
    assert isinstance(other, dict)
    denied = api.post(f"/api/v1/incidents/{other['id']}/deny", json={"by": "asha", "reason": "not now"})
    assert denied.status_code == 200, denied.text
    assert denied.json()["proposal"] is None
    assert any(e["summary"] == "denied by asha: not now" for e in denied.json()["timeline"])
    assert denied.json()["runs"] == []


def test_approve_and_deny_say_what_is_missing(api: TestClient, engine: Engine) -> None:
    incident = _open(engine, CART, "crashloop-restart", Severity.critical)
    if engine.handler is None or not hasattr(engine.handler, "approve"):
        answer = api.post(f"/api/v1/incidents/{incident.id}/approve", json={"by": "asha"})
        assert answer.status_code == 503
        assert answer.json() == {"detail": "approving a playbook needs the incident manager, and this engine "
                                           "runs without one"}
        deny = api.post(f"/api/v1/incidents/{incident.id}/deny", json={"by": "asha", "reason": "no"})
        assert deny.status_code == 503
    else:
        answer = api.post(f"/api/v1/incidents/{incident.id}/approve", json={"by": "asha"})
        assert answer.status_code == 409
        assert answer.json() == {"detail": f"incident {incident.id} has nothing waiting to approve"}
    assert api.post("/api/v1/incidents/nope/approve", json={"by": "asha"}).status_code == 404


def test_postmortems_search_detail_and_markdown(api: TestClient, engine: Engine) -> None:
    first = _open(engine, CART, "crashloop-restart", Severity.critical)
    second = _open(engine, FRONTEND, "high-cpu-scale-up", Severity.warning)
    for incident, title in ((first, "cart crash-looped"), (second, "frontend ran hot")):
        stored = engine.store.incidents.get(incident.id)
        assert stored is not None
        engine.store.postmortems.save(incident.id, render_postmortem(stored), at=engine.clock(), title=title)

    everything = api.get("/api/v1/postmortems").json()
    assert {p["incident_id"] for p in everything} == {first.id, second.id}
    found = api.get("/api/v1/postmortems", params={"q": "hot"}).json()
    assert [p["incident_id"] for p in found] == [second.id]
    assert api.get("/api/v1/postmortems", params={"q": "no such words"}).json() == []

    doc = api.get(f"/api/v1/postmortems/{first.id}").json()
    assert doc["incident_id"] == first.id
    assert doc["markdown"].startswith("#")
    assert "shop/cart" in doc["markdown"]
    md = api.get(f"/api/v1/postmortems/{first.id}", params={"format": "md"})
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    assert f'filename="postmortem-{first.id}.md"' in md.headers["content-disposition"]
    assert md.text == doc["markdown"]
    assert api.get(f"/api/v1/incidents/{first.id}").json()["has_postmortem"] is True
    assert api.get("/api/v1/postmortems/nope").status_code == 404
