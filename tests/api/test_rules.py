"""Rules as data, history and rejected versions, dry-runs (name or YAML) and the reload trigger."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tagent.app.engine import Engine

BROKEN = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: broken-rule}
spec:
  when:
    kubernetes: {reasn: CrashLoopBackOff}
"""

CUSTOM = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: oom-page}
spec:
  severity: critical
  when:
    kubernetes: {reason: OOMKilled}
  mode: notify
"""


def test_rules_as_data(api: TestClient, engine: Engine, rules_dir: Path) -> None:
    body = api.get("/api/v1/rules").json()
    active = engine.rules.current()
    assert active is not None
    assert body["active"]["sha"] == active.version.version
    assert {r["name"] for r in body["rules"]} == set(active.ruleset.rules)
    assert {p["name"] for p in body["playbooks"]} == set(active.ruleset.playbooks)
    assert [p["name"] for p in body["policies"]] == ["default"]
    crash = next(r for r in body["rules"] if r["name"] == "crashloop-restart")
    assert crash["playbook"] == "restart-workload"
    assert crash["origin"] == "rules/crashloop-restart.yaml:1"
    assert crash["spec"]["when"]["kubernetes"]["reason"] == "CrashLoopBackOff"
    assert body["history"][0]["sha"] == active.version.version
    assert body["history"][0]["status"] == "active"
    assert body["last_rejected"] is None
    assert body["source"]["location"] == str(rules_dir)


def test_a_rejected_version_is_shown_with_its_problems(api: TestClient, engine: Engine, rules_dir: Path) -> None:
    before = api.get("/api/v1/rules").json()["active"]["sha"]
    (rules_dir / "rules" / "broken.yaml").write_text(BROKEN)
    engine.poll_rules()
    body = api.get("/api/v1/rules").json()
    assert body["active"]["sha"] == before  # the last good version stays active
    rejected = body["last_rejected"]
    assert rejected is not None and rejected["status"] == "rejected"
    assert rejected["sha"] != before
    assert any(p.startswith("rules/broken.yaml:6:") and "reasn" in p for p in rejected["problems"])
    assert [h["status"] for h in body["history"][:2]] == ["rejected", "active"]


def test_dry_run_by_name_with_the_sample_events(api: TestClient, engine: Engine) -> None:
    samples = api.get("/api/v1/rules/crashloop-restart/sample-events").json()
    result = api.post("/api/v1/rules/test", json={"rule": "crashloop-restart", "event": samples}).json()
    assert result["fires"] is True
    decision = result["decisions"][0]
    assert decision["rule"] == "crashloop-restart"
    assert decision["playbook"] == "restart-workload"
    assert [s["action"] for s in decision["steps"]] == ["kubernetes.rollout_restart", "kubernetes.wait_healthy"]
    assert decision["guard"] == {"cooldown_until": None, "maintenance_window": None, "dry_run": False}
    assert engine.store.decisions.list() == []  # nothing was recorded

    other = {**samples[0], "reason": "ImagePullBackOff"}
    quiet = api.post("/api/v1/rules/test", json={"rule": "crashloop-restart", "event": other}).json()
    assert quiet["fires"] is False and quiet["decisions"] == []


def test_every_active_rule_fires_on_its_sample_events(api: TestClient, engine: Engine) -> None:
    for name, rule in engine.ruleset.rules.items():
        samples = api.get(f"/api/v1/rules/{name}/sample-events").json()
        result = api.post("/api/v1/rules/test", json={"rule": name, "event": samples}).json()
        assert result["fires"] is rule.spec.enabled, (name, samples, result)
    assert api.get("/api/v1/rules/nope/sample-events").status_code == 404


def test_dry_run_of_yaml_text_and_bad_input(api: TestClient) -> None:
    event = {"source": "kubernetes", "kind": "PodState", "reason": "OOMKilled",
             "target": {"kind": "Deployment", "namespace": "shop", "name": "cart"}}
    result = api.post("/api/v1/rules/test", json={"rule": CUSTOM, "event": event}).json()
    assert result["fires"] is True
    assert result["decisions"][0]["mode"] == "notify"
    assert result["decisions"][0]["steps"] is None

    broken = api.post("/api/v1/rules/test", json={"rule": BROKEN, "event": event})
    assert broken.status_code == 422
    assert broken.json()["detail"].startswith("request:6:")
    unknown = api.post("/api/v1/rules/test", json={"rule": "no-such-rule", "event": event})
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "rule: no active rule named 'no-such-rule'"}
    bad_event = api.post("/api/v1/rules/test", json={"rule": "crashloop-restart", "event": {"kind": "PodState"}})
    assert bad_event.status_code == 422
    assert bad_event.json()["detail"].startswith("event.source: Field required")


def test_reload_makes_the_poll_due_now(api: TestClient, engine: Engine) -> None:
    engine.poll_rules()
    assert engine.rules.seconds_until_due() > 0
    answer = api.post("/api/v1/rules/reload")
    assert answer.status_code == 202
    assert answer.json() == {"queued": True}
    assert engine.rules.seconds_until_due() == 0
