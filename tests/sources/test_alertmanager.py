"""Alertmanager webhook → Alert events, with a real Prometheus + Alertmanager firing into a local receiver."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge

from tagent.errors import ValidationError
from tagent.model.core import EventSource, WorkloadRef
from tagent.sources.alertmanager import alerts_to_events, parse_payload
from tests.clients import promstack
from tests.sources.receiver import json_receiver

RULES = {"groups": [{"name": "shop", "rules": [{
    "alert": "CartErrors",
    "expr": "tagent_test_errors > 5",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "cart errors at {{ $value }}"},
}]}]}


def _with_status(bodies: list[Any], status: str) -> list[Any]:
    return [b for b in bodies if b.get("status") == status]


@promstack.needs_alertmanager
@pytest.mark.xdist_group("prometheus")
def test_real_alertmanager_fires_and_resolves(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    errors = Gauge("tagent_test_errors", "errors", ["namespace", "deployment"], registry=registry)
    errors.labels("shop", "cart").set(10)
    with json_receiver() as (hook, bodies), promstack.alertmanager(tmp_path / "am", hook) as am, \
            promstack.exposition(registry) as target, \
            promstack.prometheus(tmp_path / "prom", [target], rules=RULES, alertmanager=am):
        promstack.wait_for(lambda: _with_status(bodies, "firing"), timeout=40)
        clock = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        (event,) = alerts_to_events(_with_status(bodies, "firing")[0], clock=lambda: clock)
        assert event.source == EventSource.alert and event.kind == "Alert" and event.reason == "CartErrors"
        assert event.target == WorkloadRef(kind="Deployment", namespace="shop", name="cart")
        assert event.labels["severity"] == "critical" and event.labels["alertname"] == "CartErrors"
        assert event.labels["fingerprint"]
        assert event.message == "cart errors at 10"
        assert event.observed_at == clock

        errors.labels("shop", "cart").set(0)
        promstack.wait_for(lambda: _with_status(bodies, "resolved"), timeout=40)
        (resolved,) = alerts_to_events(_with_status(bodies, "resolved")[0])
        assert resolved.kind == "AlertResolved" and resolved.target == event.target


def _payload(**over: Any) -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop",
                                            "pod": "cart-6d9f7c8b4-x2x4z", "severity": "warning"},
             "annotations": {"description": "pod restarts"}, "startsAt": "2030-01-01T00:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "abc"}
    body = {"version": "4", "status": "firing", "receiver": "tagent", "groupKey": "{}:{}", "truncatedAlerts": 0,
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
            "alerts": [alert]}
    body.update(over)
    return body


def test_pod_label_resolves_through_the_given_resolver_or_the_pod_name() -> None:
    (guessed,) = alerts_to_events(_payload())
    assert guessed.target == WorkloadRef(kind="Deployment", namespace="shop", name="cart")
    assert guessed.message == "pod restarts"
    owner = WorkloadRef(kind="StatefulSet", namespace="shop", name="carts-db")
    (resolved,) = alerts_to_events(_payload(), resolve_pod=lambda ns, pod: owner)
    assert resolved.target == owner


def test_cluster_wide_alert_targets_itself_and_node_alerts_the_node() -> None:
    body = _payload()
    body["alerts"][0]["labels"] = {"alertname": "Watchdog"}
    body["alerts"].append({**body["alerts"][0], "labels": {"alertname": "NodeDown", "node": "worker-1"}})
    first, second = alerts_to_events(body)
    assert first.target == WorkloadRef(kind="Alert", name="Watchdog")
    assert second.target == WorkloadRef(kind="Node", name="worker-1")


@pytest.mark.parametrize(("body", "message"), [
    ([], "body must be a JSON object"),
    (_payload(version="3"), "version"),
    (_payload(alerts=None), "alerts"),
    (_payload(alerts=[{"status": "firing", "labels": {"severity": "x"}}]), "alertname is required"),
    (_payload(alerts=[{"status": "burning", "labels": {"alertname": "x"}}]), "alerts.0.status"),
    (_payload(alerts=[{"status": "firing", "labels": {"alertname": 3}}]), "alerts.0.labels.alertname"),
])
def test_invalid_payloads_get_one_clear_line(body: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_payload(body)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_fields_are_tolerated() -> None:
    body = _payload(futureField=1)
    body["alerts"][0]["silencedBy"] = []
    assert parse_payload(body).alerts[0].labels["alertname"] == "KubePodCrashLooping"
