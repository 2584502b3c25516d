"""The traces source on a real span store: the rules' `traces` conditions become events with the RED numbers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tagent.model.core import Event, EventSource, WorkloadRef
from tagent.model.inventory import WorkloadInfo
from tagent.model.policy import Rule
from tagent.settings import Settings
from tagent.store import Store
from tagent.traces.otlp import Sanitizer, decode
from tagent.traces.service import Traces
from tagent.traces.source import TracesSource, trace_queries
from tests.traces.otlp import S, chain, request

NOW = datetime.now(UTC).replace(microsecond=0)


def rule(name: str, traces: dict[str, object]) -> Rule:
    return Rule.model_validate({"apiVersion": "tagent.io/v1", "kind": "Rule", "metadata": {"name": name},
                                "spec": {"mode": "notify", "when": {"traces": traces}}})


@pytest.fixture
def traces(tmp_path: Path) -> Iterator[Traces]:
    store = Store.open(f"sqlite:///{tmp_path / 'tagent.db'}")
    t = Traces.from_settings(Settings(data_dir=tmp_path), store, clock=lambda: NOW)
    t.start()
    try:
        yield t
    finally:
        t.stop()
        store.close()


def send(traces: Traces, spans: list[S], at: datetime) -> None:
    assert traces.ingest(decode(request(spans, at_ns=int(at.timestamp() * 1e9)), Sanitizer()))
    assert traces.flush(10)


def test_every_condition_becomes_an_event_per_service_with_the_red_numbers(traces: Traces) -> None:
    rnd = random.Random(1)
    for i in range(40):  # 40 requests through checkout -> payment in the last minutes, 10 of them failing
        send(traces, chain(["shop/checkout", "shop/payment-service"], rnd, total_ms=100 + i, error_at=0 if i % 4 == 0
                           else None), NOW - timedelta(seconds=200 - i))
    send(traces, chain(["shop/cart"], rnd), NOW - timedelta(hours=2))  # nothing in the window: no ratio for it
    rules = [rule("errors", {"metric": "error_ratio", "op": ">", "value": 0.1, "window": "5m"}),
             rule("slow", {"service": "shop/checkout", "metric": "p99_ms", "op": ">", "value": 50, "window": "5m"}),
             rule("busy", {"service": "shop/cart", "metric": "rate_per_s", "op": ">", "value": 1, "window": "1m"}),
             rule("picky", {"service": "shop/checkout", "metric": "p50_ms", "op": ">", "value": 1,
                            "min_requests": 100})]
    got: list[Event] = []
    labels = {"app": "checkout", "tier": "backend"}
    source = TracesSource(traces, trace_queries(rules), got.append, clock=lambda: NOW, workloads=lambda: [
        WorkloadInfo(ref=WorkloadRef(kind="StatefulSet", namespace="shop", name="checkout"), labels=labels)])
    assert source.poll_once() == len(got) == 4
    by = {(e.reason, e.target.name): e for e in got}
    assert set(by) == {("errors#0", "checkout"), ("errors#0", "payment-service"), ("slow#0", "checkout"),
                       ("busy#0", "cart")}
    errors = by["errors#0", "checkout"]
    assert errors.source == EventSource.traces and errors.kind == "TraceRed"
    assert errors.target == WorkloadRef(kind="StatefulSet", namespace="shop", name="checkout")
    assert errors.labels == {"namespace": "shop", **labels}
    assert errors.values["value"] == errors.values["error_ratio"] == pytest.approx(0.25)
    assert errors.values["requests"] == 40 and errors.values["rate_per_s"] == pytest.approx(40 / 300)
    assert by["errors#0", "payment-service"].values["value"] == 0.0  # the failure was checkout's own
    assert by["errors#0", "payment-service"].target.kind == "Deployment"  # not in the inventory: a Deployment
    slow = by["slow#0", "checkout"]
    assert 120 < slow.values["value"] == slow.values["p99_ms"] <= 140 and slow.values["p50_ms"] < 125
    assert "p99_ms of shop/checkout over 5m" in slow.message and "40 requests" in slow.message
    assert by["busy#0", "cart"].values["value"] == 0.0  # a rate has a verdict without requests
    assert source.stats["insufficient_data"] == 2  # picky (40 < 100 requests) and cart's error ratio (none)


def test_a_rules_swap_changes_what_is_asked(traces: Traces) -> None:
    send(traces, chain(["shop/frontend"], random.Random(2)), NOW - timedelta(seconds=30))
    got: list[Event] = []
    source = TracesSource(traces, [], got.append, clock=lambda: NOW)
    assert source.poll_once() == 0
    source.set_queries(trace_queries([rule("fast", {"metric": "rate_per_s", "op": ">", "value": 0})]))
    assert source.poll_once() == 1 and got[0].target.name == "frontend" and got[0].reason == "fast#0"


def test_services_without_a_namespace_or_with_a_broken_last_seen_are_skipped() -> None:
    class Listing:
        """What Traces.services() and .red() answer, for rows the embedded store would never hold."""

        def services(self) -> list[dict[str, str]]:
            return [{"service": "-/orphan", "last_seen": NOW.isoformat()},
                    {"service": "shop/odd", "last_seen": "yesterday"},
                    {"service": "shop/ok", "last_seen": NOW.isoformat().replace("+00:00", "Z")}]

        def red(self, service: str, window_s: float, *, at: datetime | None = None) -> dict[str, object]:
            return {"service": service, "rate_per_s": 2.0, "requests": 600, "source": "embedded"}

    got: list[Event] = []
    source = TracesSource(Listing(), trace_queries([rule("r", {"metric": "rate_per_s", "op": ">", "value": 1})]),
                          got.append, clock=lambda: NOW)
    assert source.poll_once() == 1 and got[0].target.name == "ok"
    assert source.stats["malformed_input"] == 1
