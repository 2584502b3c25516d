"""Overview, inventory, nodes and the workload page, against the live sandbox through a real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tagent.escalation.night import in_night
from tagent.model import Incident, WorkloadRef
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for


def test_overview_counts_the_live_cluster(api: TestClient, engine: Engine, sandbox: Sandbox) -> None:
    body = api.get("/api/v1/overview").json()
    policy = engine.ruleset.default_policy()
    assert policy is not None
    assert body["mode"] == ("night" if in_night(policy.spec.night, engine.clock()) else "day")
    assert body["nodes"] == {"total": len(sandbox.scenario.spec.nodes), "ready": len(sandbox.scenario.spec.nodes)}
    assert body["workloads"]["total"] == len(sandbox.scenario.spec.workloads)
    assert body["rules_version"] == engine.detector.version
    assert body["open_incidents"] == 0
    assert body["actions_today"] == 0
    assert body["replica_hours_saved"] == 0
    assert body["problems"] == []

    ref = WorkloadRef(namespace="shop", name="cart")
    engine.store.incidents.open(Incident(fingerprint="r/x", rule="crashloop-restart", target=ref))
    engine.store.audit.add(at=engine.clock(), actor="api:test", action="kubernetes.scale", target_key=ref.key,
                           result="ok", command="kubectl scale deployment/cart -n shop --replicas=3")
    engine.store.savings.open(ref, from_replicas=4, to_replicas=2, at=engine.clock())
    after = api.get("/api/v1/overview").json()
    assert after["open_incidents"] == 1
    assert after["actions_today"] == 1
    assert after["replica_hours_saved"] >= 0


def test_night_mode_follows_the_active_policy(api: TestClient, engine: Engine, rules_dir: Path) -> None:
    policy = rules_dir / "rules" / "escalation.yaml"
    text = policy.read_text()
    assert "night:" in text
    lines = [ln if not ln.strip().startswith("night:") else '  night: {from: "00:00", to: "00:00", timezone: UTC}'
             for ln in text.splitlines()]
    policy.write_text("\n".join(lines) + "\n")
    engine.poll_rules()
    assert api.get("/api/v1/overview").json()["mode"] == "night"  # a 00:00-00:00 window is the whole day


def test_inventory_and_nodes(api: TestClient, sandbox: Sandbox) -> None:
    inventory = api.get("/api/v1/inventory").json()
    by_name = {w["ref"]["name"]: w for w in inventory}
    for spec in sandbox.scenario.spec.workloads:
        assert by_name[spec.name]["ref"] == {"kind": spec.kind, "namespace": spec.namespace, "name": spec.name}
        assert by_name[spec.name]["replicas"] == spec.replicas
    assert by_name["frontend"]["runtime"] == "nodejs"
    assert by_name["postgres"]["runtime"] == "database"
    assert by_name["redis-cache"]["runtime"] == "cache"
    shop = api.get("/api/v1/inventory", params={"namespace": "shop"}).json()
    assert shop and {w["ref"]["namespace"] for w in shop} == {"shop"}
    nodes = api.get("/api/v1/nodes").json()
    assert sorted(n["name"] for n in nodes) == sorted(n.name for n in sandbox.scenario.spec.nodes)
    assert all(n["ready"] for n in nodes)


def _detail(api: TestClient, ns: str, name: str, **params: Any) -> dict[str, Any]:
    answer = api.get(f"/api/v1/workloads/{ns}/{name}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_workload_page_has_pods_logs_events_and_series(api: TestClient, sandbox: Sandbox) -> None:
    detail = wait_for(lambda: (d := _detail(api, "shop", "frontend"))["metrics"]["series"].get("cpu_utilization")
                      and len(d["metrics"]["series"]["cpu_utilization"]) >= 2 and d)
    assert isinstance(detail, dict)
    assert detail["workload"]["ref"] == {"kind": "Deployment", "namespace": "shop", "name": "frontend"}
    assert len(detail["pods"]) == 3
    assert all(p["name"].startswith("frontend-") and p["phase"] == "Running" for p in detail["pods"])
    assert detail["logs"] and all(line.startswith("[frontend-") for line in detail["logs"])
    assert detail["metrics"]["source"] == "engine"
    series = detail["metrics"]["series"]
    assert {"cpu_utilization", "memory_utilization", "restarts"} <= set(series)
    times = [t for t, _ in series["cpu_utilization"]]
    assert times == sorted(times)
    assert detail["metrics"]["now"]["cpu_cores"] > 0
    assert detail["metrics"]["now"]["memory_bytes"] > 0
    assert len(_detail(api, "shop", "frontend", log_lines=2)["logs"]) <= 2 * 3

    postgres = _detail(api, "shop", "postgres")
    assert postgres["workload"]["ref"]["kind"] == "StatefulSet"
    assert [p["name"] for p in postgres["pods"]] == ["postgres-0"]


def test_workload_page_shows_a_crashloop(api: TestClient, sandbox: Sandbox) -> None:
    sandbox.inject("crashloop", "shop", "cart")

    def crashing() -> dict[str, Any] | None:
        d = _detail(api, "shop", "cart")
        return d if any(p["reason"] == "CrashLoopBackOff" for p in d["pods"]) and d["events"] else None

    detail = wait_for(crashing, timeout=30)
    assert isinstance(detail, dict)
    assert any(e["reason"] == "BackOff" and e["type"] == "Warning" for e in detail["events"])
    assert all(e["object"].startswith(("Pod/cart-", "Deployment/cart", "ReplicaSet/cart-")) for e in detail["events"])


def test_unknown_workload_is_404_with_a_sentence(api: TestClient) -> None:
    answer = api.get("/api/v1/workloads/shop/nope")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no workload shop/nope in the inventory"}
    wrong_kind = api.get("/api/v1/workloads/shop/frontend", params={"kind": "StatefulSet"})
    assert wrong_kind.status_code == 404


@pytest.mark.parametrize("sandbox", [{"speed": 1}], indirect=True)
def test_overview_reports_an_unreachable_cluster(api: TestClient, engine: Engine, sandbox: Sandbox) -> None:
    wait_for(engine.store.inventory.list)
    sandbox.stop()
    body = api.get("/api/v1/overview").json()
    assert body["nodes"] is None
    assert body["problems"] and body["problems"][0].startswith("cluster unreachable:")
    assert body["workloads"]["total"] > 0  # the stored inventory is still there
