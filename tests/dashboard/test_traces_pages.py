"""The traces parts of the Services and Incidents pages with Streamlit's AppTest, against a real engine API fed
real OTLP spans (the OpenTelemetry SDK's exporter), and against an engine that keeps no traces."""

from __future__ import annotations

from tagent.app.engine import Engine
from tagent.model import Incident, Severity, TimelineEntry, WorkloadRef
from tests.api.conftest import WEBHOOK_TOKEN
from tests.dashboard.conftest import AppRunner
from tests.dashboard.shop_spans import send_traffic
from tests.dashboard.test_pages import _texts


def _incident(engine: Engine) -> Incident:
    now = engine.clock()
    target = WorkloadRef(namespace="shop", name="payment-service")
    incident, _ = engine.store.incidents.open(Incident(
        fingerprint=f"error-spike-rollback/{target.key}", rule="error-spike-rollback", target=target,
        severity=Severity.critical, opened_at=now, rules_version=engine.detector.version,
        timeline=[TimelineEntry(at=now, kind="event", summary="shop/payment-service answers 500s")]))
    return incident


def test_trace_list_errors_first_and_a_linked_trace(live_api: str, app_test: AppRunner, engine: Engine) -> None:
    failing, slow = send_traffic(f"{live_api}/v1/traces", WEBHOOK_TOKEN)
    assert engine.traces is not None and engine.traces.flush()

    at = app_test("services", {"service": "shop/payment-service"})
    assert not at.exception and not at.error
    assert "shop/payment-service · Java" in _texts(at)  # told by its spans' telemetry.sdk.language
    pick = at.selectbox(key="trace_pick-shop/payment-service-recent-False")
    assert len(pick.options) == 20 and not pick.options[0].startswith("✖")  # newest first: not an error
    assert len(at.get("plotly_chart")) == 3  # CPU, memory and the waterfall
    at.toggle(key="trace_errors_first").set_value(True).run()
    pick = at.selectbox(key="trace_pick-shop/payment-service-recent-True")  # a new list: its first trace
    assert [o.startswith("✖") for o in pick.options[:3]] == [True, True, False]
    assert pick.value == failing  # the newest error trace's waterfall
    assert "with errors (✖)" in _texts(at)
    at.radio(key="trace_order").set_value("slowest").run()
    slowest = at.selectbox(key="trace_pick-shop/payment-service-slowest-True")
    assert slowest.options[2].endswith("· 836.0 ms · 5 services"), slowest.options  # errors, then the slowest

    linked = app_test("services", {"service": "shop/payment-service", "trace": slow})  # an incident's link
    assert linked.selectbox(key="trace_pick-shop/payment-service-recent-False").value == slow
    assert f"Waterfall of trace `{slow}`" in _texts(linked)

    page = app_test("", {"incident": _incident(engine).id})
    assert not page.exception and not page.error
    assert "10 traces of shop/payment-service from " in _texts(page)  # the newest ten, errors first
    assert "with errors (listed first)" in _texts(page)
    links = page.get("page_link")
    assert len(links) == 10 and links[0].proto.label.startswith("✖") and not links[2].proto.label.startswith("✖")
    query = links[0].proto.query_string  # opens the newest error trace's waterfall on the Services page
    assert f"trace={failing}" in query and "service=shop%2Fpayment-service" in query, query


def test_an_engine_that_keeps_no_traces_still_shows_its_pages(live_api: str, app_test: AppRunner,
                                                              engine: Engine) -> None:
    traces, engine.traces = engine.traces, None
    try:
        at = app_test("services", {"service": "shop/checkout"})
        assert not at.exception and not at.error, [e.value for e in at.error]
        text = _texts(at)
        assert "Request rate and latency are not available from this engine" in text
        assert "Traces are not available from this engine" in text
        assert "shop/checkout · Python" in text and "inferred from" in text  # the inventory's runtime
        page = app_test("", {"incident": _incident(engine).id})
        assert not page.exception and not page.error
        assert "No traces: this engine keeps no traces" in _texts(page)
    finally:
        engine.traces = traces
