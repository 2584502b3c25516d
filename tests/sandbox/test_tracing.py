"""The sandbox's spans: real OTLP/HTTP from the OpenTelemetry SDK, shaped by the simulation and its faults."""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tagent.errors import ValidationError
from tagent.sandbox import Sandbox
from tagent.sandbox.scenario import parse_scenario
from tagent.sandbox.tracing import runtime_of, threshold
from tests.sandbox.helpers import wait_for
from tests.serving import serve

SHOP_HTTP = {"frontend", "cart", "checkout", "payment-service"}


class Receiver:
    """An OTLP/HTTP trace receiver as the protocol documents it: protobuf ExportTraceServiceRequest in,
    200 with an empty ExportTraceServiceResponse out."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.auth: set[str] = set()
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assert self.path == "/v1/traces" and self.headers["Content-Type"] == "application/x-protobuf"
                request = ExportTraceServiceRequest.FromString(body)
                with receiver.lock:
                    receiver.requests.append(request)
                    receiver.auth.add(self.headers.get("Authorization", ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def spans(self) -> list[tuple[dict[str, Any], Any]]:
        """(resource attributes, span) of everything received."""
        out = []
        with self.lock:
            for request in self.requests:
                for rs in request.resource_spans:
                    attrs = {a.key: _value(a.value) for a in rs.resource.attributes}
                    out += [(attrs, span) for ss in rs.scope_spans for span in ss.spans]
        return out


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value"))


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    r = Receiver()
    with serve(r.handler()) as url:
        yield r, url


def test_spans_reach_an_otlp_receiver_with_links_kinds_codes_and_resources(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    with Sandbox(speed=1, seed=3, otlp_endpoint=url + "/v1/traces", otlp_token="s3cret") as sb:
        wait_for(lambda: {a["service.name"] for a, _ in rec.spans()} >= SHOP_HTTP | {"postgres", "redis-cache"},
                 timeout=15, interval=0.2)
        now = sb.clock.now().timestamp()
    assert rec.auth == {"Bearer s3cret"}
    spans = rec.spans()
    by_trace: dict[bytes, list[tuple[dict[str, Any], Any]]] = defaultdict(list)
    for attrs, span in spans:
        by_trace[span.trace_id].append((attrs, span))
    widest = max(by_trace.values(), key=lambda t: len({a["service.name"] for a, _ in t}))
    assert {a["service.name"] for a, _ in widest} >= {"frontend", "cart", "checkout", "payment-service", "postgres"}
    ids = {s.span_id for _, s in widest}
    roots = [s for _, s in widest if not s.parent_span_id]
    assert len(roots) == 1 and all(s.parent_span_id in ids for _, s in widest if s.parent_span_id)
    assert roots[0].kind == roots[0].SPAN_KIND_SERVER and roots[0].trace_state.startswith("ot=th:")
    by_id = {s.span_id: (a, s) for a, s in widest}
    for attrs, span in widest:  # every SERVER span below the root hangs off a CLIENT span of its caller
        if span.parent_span_id:
            parent_attrs, parent = by_id[span.parent_span_id]
            if span.kind == span.SPAN_KIND_SERVER:
                assert parent.kind == parent.SPAN_KIND_CLIENT
                assert parent_attrs["service.name"] != attrs["service.name"]
            assert parent.start_time_unix_nano <= span.start_time_unix_nano <= span.end_time_unix_nano \
                <= parent.end_time_unix_nano
        assert abs(span.end_time_unix_nano / 1e9 - now) < 30  # sandbox time, which is wall time at speed 1
    db = [(a, s) for a, s in widest if s.kind == s.SPAN_KIND_CLIENT and a["service.name"] == "checkout"
          and any(x.key == "db.system" and x.value.string_value == "postgresql" for x in s.attributes)]
    assert db and any(a["service.name"] == "postgres" and s.kind == s.SPAN_KIND_SERVER
                      for a, s in widest if s.parent_span_id == db[0][1].span_id)
    server_codes = [x.value.int_value for _, s in widest if s.kind == s.SPAN_KIND_SERVER
                    for x in s.attributes if x.key == "http.response.status_code"]
    assert server_codes and all(100 <= c < 600 for c in server_codes)
    resources = {a["service.name"]: a for a, _ in spans}
    assert {n: resources[n].get("telemetry.sdk.language") for n in SHOP_HTTP} == {
        "frontend": "nodejs", "cart": "go", "checkout": "python", "payment-service": "java"}
    assert resources["payment-service"]["process.runtime.name"] == "OpenJDK Runtime Environment"
    pay = resources["payment-service"]
    assert pay["service.namespace"] == "shop" and pay["k8s.deployment.name"] == "payment-service"
    assert pay["k8s.pod.name"].startswith("payment-service-")
    assert resources["postgres"]["k8s.statefulset.name"] == "postgres"


def _traced(sb: Sandbox, seconds: float) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    tracing = sb.trace(exporter)
    time.sleep(seconds)
    tracing.flush()
    return exporter


def _server(spans: list[ReadableSpan], service: str) -> list[ReadableSpan]:
    return [s for s in spans if s.kind == SpanKind.SERVER and s.resource.attributes["service.name"] == service]


def _ms(s: ReadableSpan) -> float:
    assert s.start_time is not None and s.end_time is not None
    return (s.end_time - s.start_time) / 1e6


def test_an_error_spike_gives_error_spans_that_reach_the_callers() -> None:
    with Sandbox(speed=5, seed=5) as sb:
        sb.inject("error-spike", "shop", "payment-service", rate=1.0)
        spans = list(_traced(sb, 2.5).get_finished_spans())
    pay = _server(spans, "payment-service")
    assert pay and all(s.status.status_code == StatusCode.ERROR and s.attributes
                       and s.attributes["http.response.status_code"] == 500 for s in pay)
    calls = [s for s in spans if s.kind == SpanKind.CLIENT and s.resource.attributes["service.name"] == "checkout"
             and s.attributes and str(s.attributes.get("url.full", "")).startswith("http://payment-service.")]
    assert calls and all(s.status.status_code == StatusCode.ERROR and s.attributes
                         and s.attributes["error.type"] == "500" for s in calls)  # the caller's client saw it
    for service in ("checkout", "frontend", "cart"):  # their own answers: their own (small) error share
        own = _server(spans, service)
        assert own and sum(s.status.status_code == StatusCode.ERROR for s in own) <= len(own) * 0.1


def test_a_callee_without_ready_pods_refuses_the_call() -> None:
    with Sandbox(speed=5, seed=6) as sb:
        sb.inject("crashloop", "shop", "payment-service", after=0)
        wait_for(lambda: not any(p.ready(sb.clock.now()) for p in sb.simulation.kubelet.pods.values()
                                 if p.workload == "payment-service"), timeout=15, interval=0.2)
        spans = list(_traced(sb, 1.5).get_finished_spans())
    refused = [s for s in spans if s.kind == SpanKind.CLIENT and s.attributes
               and str(s.attributes.get("url.full", "")).startswith("http://payment-service.")]
    assert refused and all(s.attributes and s.attributes["error.type"] == "connection_refused"
                           and s.status.status_code == StatusCode.ERROR for s in refused)
    assert not _server(spans, "payment-service")


def test_the_latency_fault_slows_the_service_its_callers_and_their_histograms() -> None:
    with Sandbox(speed=5, seed=7) as sb:
        before = list(_traced(sb, 1.5).get_finished_spans())
        sb.inject("latency", "shop", "payment-service", ms=800)
        slow = list(_traced(sb, 2.0).get_finished_spans())
        checkout = next(p for p in sb.simulation.kubelet.pods.values() if p.workload == "checkout")
        fx = sb.simulation.kubelet.effects(checkout)
    for service in ("payment-service", "checkout", "frontend"):
        b = sorted(_ms(s) for s in _server(before, service))
        a = sorted(_ms(s) for s in _server(slow, service))
        assert b and a and a[len(a) // 2] > b[len(b) // 2] + 700, service
    c = sorted(_ms(s) for s in _server(slow, "cart"))
    assert c[len(c) // 2] < 200  # not on the slow path
    assert fx.downstream_s == pytest.approx(0.8) and fx.delay_s == 0.0  # the Prometheus histogram of checkout


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_receiver_that_is_down_neither_stalls_nor_crashes_the_sandbox() -> None:
    port = _closed_port()
    with Sandbox(speed=10, seed=2, otlp_endpoint=f"http://127.0.0.1:{port}/v1/traces") as sb:
        time.sleep(2.0)
        tracing = sb.simulation.tracing
        assert tracing is not None and tracing.stats["traces"] >= 20
        start = time.monotonic()
        pods = httpx.get(f"{sb.url}/api/v1/namespaces/shop/pods", timeout=5,
                         headers={"Authorization": f"Bearer {sb.token}"})
        assert pods.status_code == 200 and time.monotonic() - start < 1.0
        elapsed = sb.clock.elapsed()
        time.sleep(0.5)
        assert sb.clock.elapsed() > elapsed and sb.simulation._thread is not None
        assert sb.simulation._thread.is_alive()
        began = time.monotonic()
    assert time.monotonic() - began < 12  # stop() waits at most for one export timeout


def test_the_trace_budget_holds_at_high_speed() -> None:
    with Sandbox(speed=120, seed=1) as sb:
        exporter = InMemorySpanExporter()
        began = time.monotonic()
        tracing = sb.trace(exporter)
        time.sleep(2.0)
        traces = tracing.stats["traces"]
        wall = time.monotonic() - began
    assert 0.5 * 20 * wall <= traces <= 20 * wall + 21


def test_sampling_threshold_and_runtime_names() -> None:
    assert threshold(1.0) == "0" and threshold(0.5) == "8" and threshold(0.25) == "c"
    assert int(threshold(0.1).ljust(14, "0"), 16) / 2**56 == pytest.approx(0.9, abs=1e-9)
    assert runtime_of("ghcr.io/acme/eclipse-temurin:21-jre") == ("java", "OpenJDK Runtime Environment")
    assert runtime_of("node:20-alpine") == ("nodejs", "nodejs")
    assert runtime_of("postgres:16") is None


def test_calls_are_checked_when_a_scenario_loads() -> None:
    doc = {"apiVersion": "tagent.io/v1", "kind": "SandboxScenario", "metadata": {"name": "x"},
           "spec": {"nodes": [{"name": "n"}], "workloads": [
               {"namespace": "a", "name": "web", "image": "node:20", "calls": ["api", "b/db"]}]}}
    scenario = parse_scenario(doc)
    assert scenario.spec.workloads[0].callees() == (("a", "api"), ("b", "db"))
    doc["spec"]["workloads"][0]["calls"] = ["Not A Name"]  # type: ignore[index]
    with pytest.raises(ValidationError, match=r"spec\.workloads\.0\.calls: .*'Not A Name' is not NAME"):
        parse_scenario(doc, "s.yaml")


def test_spans_use_sandbox_time_or_wall_time() -> None:
    start = datetime(2026, 1, 1, 22, 0, tzinfo=UTC)
    with Sandbox(speed=20, seed=4, start=start) as sb:
        spans = list(_traced(sb, 1.0).get_finished_spans())
        exporter = InMemorySpanExporter()
        sb.trace(exporter, wall_time=True).flush()
        time.sleep(1.0)
        sb.trace(InMemorySpanExporter())  # the previous one is flushed and shut down
        wall = list(exporter.get_finished_spans())
    assert spans and all(s.start_time is not None and 0 <= s.start_time / 1e9 - start.timestamp() < 120
                         for s in spans)
    assert wall and all(s.start_time is not None and abs(s.start_time / 1e9 - time.time()) < 10 for s in wall)
    assert max(_ms(s) for s in wall) < 5000  # simulated latencies, not stretched or squeezed by the speed


def test_the_cli_refuses_a_bad_endpoint_in_one_line() -> None:
    from typer.testing import CliRunner

    from tagent.cli.main import app

    bad = CliRunner().invoke(app, ["sandbox", "up", "--otlp-endpoint", "ftp://collector:4318"])
    assert bad.exit_code == 2 and "use an http(s) URL" in bad.output and len(bad.output.strip().splitlines()) == 1
    real = CliRunner().invoke(app, ["sandbox", "up", "--control-plane", "real", "--otlp-endpoint",
                                    "http://127.0.0.1:1/v1/traces"])
    assert real.exit_code == 2 and "the emulator only" in real.output
