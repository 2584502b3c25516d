"""Every dashboard page with Streamlit's AppTest, against a real engine API on the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagent.app.engine import Engine
from tagent.debrief.postmortem import render_postmortem
from tagent.model import Incident, Severity, TimelineEntry, WorkloadRef
from tagent.sandbox import Sandbox
from tests.api.conftest import wait_for
from tests.dashboard.conftest import AppRunner

PAGES = ["overview", "services", "incidents", "documentation", "rules", "chat"]


def _texts(at: object) -> str:
    """Everything a page wrote as markdown, captions, alerts and code, for content checks."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "code", "subheader"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)


def test_every_page_renders_without_errors(live_api: str, app_test: AppRunner) -> None:
    home = app_test("")  # the entry script: navigation, the sidebar status, the default page
    assert home.title[0].value == "Overview"
    assert any("API connected" in s.value for s in home.sidebar.success)
    assert all(live_api in c.value for c in home.sidebar.caption if "Engine API" in c.value)
    for page in PAGES:
        at = app_test(page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        assert at.title[0].value == page.capitalize()


def test_overview_shows_the_live_cluster(live_api: str, app_test: AppRunner, sandbox: Sandbox) -> None:
    at = app_test("overview")
    metrics = {m.label: m.value for m in at.metric}
    nodes = len(sandbox.scenario.spec.nodes)
    assert metrics["Nodes ready"] == f"{nodes}/{nodes}"
    assert metrics["Workloads healthy"].endswith(f"/{len(sandbox.scenario.spec.workloads)}")
    assert metrics["Mode"] in ("☀️ Day", "🌙 Night")
    assert metrics["Open incidents"] == "0"
    assert "No incidents. Tagent is watching." in _texts(at)


def test_services_dashboard_follows_the_runtime(live_api: str, app_test: AppRunner, engine: Engine) -> None:
    ref = WorkloadRef(namespace="shop", name="frontend")
    wait_for(lambda: sum(1 for e in list(engine.state.recent.values()) if e.kind == "Metric" and e.target == ref) >= 6)
    at = app_test("services", {"service": "shop/frontend"})
    assert not at.exception
    assert at.selectbox(key="service").value == "shop/frontend (Deployment)"
    text = _texts(at)
    assert "shop/frontend · Node.js" in text
    assert at.get("plotly_chart"), "cpu and memory charts"
    assert len(at.get("plotly_chart")) == 2  # CPU and memory from the engine's samples; no trace, no waterfall
    metrics = {m.label: m.value for m in at.metric}  # RED from spans, none received yet: zero, not "needs"
    assert metrics["Request rate"] == "0.00 /s" and metrics["p99 latency"] == "n/a", metrics
    assert "No spans from this service yet" in text and "needs Prometheus" not in text
    assert "no Node.js event-loop lag metric" in text and "nodejs_eventloop_lag_seconds" in text
    pods = at.dataframe[1].value
    assert len(pods) == 3 and all(str(p).startswith("frontend-") for p in pods["pod"])
    assert "[frontend-" in at.code[0].value  # recent logs beside the charts

    at.selectbox(key="service").set_value("shop/postgres (StatefulSet)").run()
    db = _texts(at)
    assert "shop/postgres · Database" in db
    assert "runtime**" not in db  # a database gets its own set (memory, CPU, restarts), no runtime panels


def _incident(engine: Engine, target: WorkloadRef, severity: Severity, rule: str) -> Incident:
    now = engine.clock()
    incident, _ = engine.store.incidents.open(Incident(
        fingerprint=f"{rule}/{target.key}", rule=rule, target=target, severity=severity, opened_at=now,
        rules_version=engine.detector.version,
        timeline=[TimelineEntry(at=now, kind="event", summary=f"{target} crash-loops"),
                  TimelineEntry(at=now, kind="decision", summary=f"{rule} matched; approval requested")]))
    return incident


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_incident_link_then_acknowledge_and_approve(request: pytest.FixtureRequest, rules_dir: Path,
                                                    app_test: AppRunner, sandbox: Sandbox) -> None:
    rule = rules_dir / "rules" / "crashloop-restart.yaml"
    rule.write_text(rule.read_text().replace("mode: auto", "mode: approve"))  # a person decides
    request.getfixturevalue("live_api")
    engine: Engine = request.getfixturevalue("engine")
    _incident(engine, WorkloadRef(namespace="shop", name="frontend"), Severity.warning, "high-cpu-scale-up")
    sandbox.inject("crashloop", "shop", "cart")
    pending = wait_for(lambda: [a for a in engine.store.approvals.pending() if a.incident_id], timeout=30)
    assert isinstance(pending, list)
    incident_id = pending[0].incident_id
    assert incident_id is not None

    at = app_test("", {"incident": incident_id})  # the notification link: the root URL with ?incident=
    assert not at.exception
    assert at.title[0].value == "Incidents"
    text = _texts(at)
    assert "crashloop-restart on shop/cart" in text
    assert "Run playbook restart-workload on shop/cart?" in text and "waiting for approval" in text
    assert {m.label: m.value for m in at.metric}["Severity"] == "critical"

    at.button(key="ack").click().run()
    assert any("Acknowledge: done." in s.value for s in at.success), _texts(at)
    stored = engine.store.incidents.get(incident_id)
    assert stored is not None and stored.acknowledged_at is not None
    assert at.button(key="ack").disabled

    at.button(key="approve").click().run()
    assert any("Approve: done." in s.value for s in at.success), _texts(at)
    runs = wait_for(lambda: [r for r in engine.store.runs.list(incident_id=incident_id)
                             if r.playbook == "restart-workload"], timeout=30)
    assert runs
    assert at.button(key="approve").disabled  # nothing waits any more

    at.selectbox(key="f_severity").set_value("warning").run()
    listed = at.dataframe[0].value
    assert list(listed["rule"]) == ["high-cpu-scale-up"]


def test_documentation_search_and_download(live_api: str, app_test: AppRunner, engine: Engine) -> None:
    cart = _incident(engine, WorkloadRef(namespace="shop", name="cart"), Severity.critical, "crashloop-restart")
    hot = _incident(engine, WorkloadRef(namespace="shop", name="frontend"), Severity.warning, "high-cpu-scale-up")
    for incident, title in ((cart, "cart crash-looped"), (hot, "frontend ran hot")):
        stored = engine.store.incidents.get(incident.id)
        assert stored is not None
        engine.store.postmortems.save(incident.id, render_postmortem(stored), at=engine.clock(), title=title)
    at = app_test("documentation")
    assert len(at.selectbox(key="pm_pick").options) == 2
    at.text_input(key="pm_query").set_value("hot").run()
    assert at.selectbox(key="pm_pick").value == hot.id
    assert "shop/frontend" in _texts(at)
    assert at.get("download_button"), "the Markdown download button"


def test_rules_page_dry_run_and_rejected_version(live_api: str, app_test: AppRunner, engine: Engine,
                                                 rules_dir: Path) -> None:
    at = app_test("rules")
    active = engine.rules.current()
    assert active is not None
    assert {m.label: m.value for m in at.metric}["Active version"] == active.version.version[:23]
    assert "No rejected version" in _texts(at)
    at.selectbox(key="dry_rule").set_value("crashloop-restart").run()
    at.button(key="dry_go").click().run()
    assert any("crashloop-restart** fires" in s.value for s in at.success), _texts(at)

    broken = rules_dir / "rules" / "broken.yaml"
    broken.write_text("apiVersion: tagent.io/v1\nkind: Rule\nmetadata: {name: b}\nspec: {when: {nope: 1}}\n")
    engine.poll_rules()
    at = app_test("rules")
    rejected = " ".join(e.value for e in at.error)
    assert "Last rejected version" in rejected and "rules/broken.yaml:4" in rejected


def test_chat_scales_after_confirmation(live_api: str, app_test: AppRunner, engine: Engine) -> None:
    at = app_test("chat")
    at.chat_input(key="chat_text").set_value("Scale the checkout to 3 replicas").run()
    assert not at.exception
    assert "kubectl scale deployment/checkout -n shop --replicas=3" in _texts(at)
    assert engine.kube.get_deployment("shop", "checkout").replicas == 2
    at.button(key="chat_confirm").click().run()
    assert wait_for(lambda: engine.kube.get_deployment("shop", "checkout").replicas == 3)
    assert "(done)" in _texts(at)


def test_every_page_shows_the_teams_local_time_with_its_zone(live_api: str, app_test: AppRunner,
                                                            engine: Engine) -> None:
    """Issue 16: dashboard times are the escalation policy's zone (the pack's Asia/Kolkata), never bare UTC."""
    from zoneinfo import ZoneInfo

    incident = _incident(engine, WorkloadRef(namespace="shop", name="cart"), Severity.critical, "crashloop-restart")
    local = incident.opened_at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%d %H:%M:%S IST")

    home = app_test("")
    assert any(c.value == "Times in Asia/Kolkata (IST)" for c in home.sidebar.caption)

    at = app_test("", {"incident": incident.id})  # the Incidents page with that incident
    assert not at.exception and at.title[0].value == "Incidents"
    assert {m.label: m.value for m in at.metric}["Opened"] == local.split(" ", 1)[1]
    stamps = [str(v) for frame in at.dataframe for col in ("at", "opened") if col in frame.value
              for v in frame.value[col]]
    assert local in stamps and all(s.endswith(" IST") for s in stamps), stamps

    overview = app_test("overview")
    opened = list(overview.dataframe[0].value["opened"])
    assert opened == [local]
    assert "UTC" not in _texts(overview) and " IST" in _texts(overview)  # the engine's start and update times

    rules = app_test("rules")
    history = [str(v) for v in rules.dataframe[-1].value["at"]]
    assert history and all(s.endswith(" IST") for s in history), history
