"""Issue 9's acceptance: bad input on every source is counted and logged, never a crash, with the engine
running. One Engine on a sandbox, plus sources wired to its `ingest` that read the edge cases a healthy
cluster never shows on demand:

- a Kubernetes API whose pod watch sends garbage lines, an object without a name and a non-object (the
  scripted watch server of the client tests), then a real CrashLoopBackOff;
- pod logs with lines that are not UTF-8 (they still count towards error-spike-rollback's pattern);
- a Prometheus (a local server answering the documented /api/v1/query) that does not answer in time, then does;
- Alertmanager webhook bodies that are not JSON, not UTF-8 or not a valid payload, through the API route.

Each case ends with good input going all the way through: the engine is still matching.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kubernetes import client as k8s
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.app.engine import Engine
from tagent.clients.kubernetes import KubeClient
from tagent.clients.prometheus import PrometheusClient
from tagent.model import WorkloadRef
from tagent.model.policy import condition_key
from tagent.sandbox import Sandbox
from tagent.sources.base import SourceQuery
from tagent.sources.kubernetes import KubernetesSource
from tagent.sources.logs import LogSource
from tagent.sources.prometheus import PrometheusQuerySource
from tests.clients.watchserver import Script, line, pod, watch_server
from tests.e2e.helpers import FiredLog, admitted, sandbox_engine, wait_for

pytestmark = pytest.mark.xdist_group("e2e-bad-input")
# workloads only the scripted servers know; one per source, so that no rule's incident absorbs another's
API = WorkloadRef(kind="Deployment", namespace="edge", name="api")  # the watch
WEB = WorkloadRef(kind="Deployment", namespace="edge", name="web")  # the logs
HOOK_TOKEN = "hook-token-for-tests"


def edge_pod(workload: str, rv: str, crashing: bool = False) -> dict[str, Any]:
    """The watch server's pod, moved to a workload the sandbox does not have (edge/NAME)."""
    obj = copy.deepcopy(pod(f"{workload}-6d9f7c8b4-x2x4z", rv))
    md = obj["metadata"]
    md["namespace"], md["labels"]["app"] = "edge", workload
    md["ownerReferences"][0]["name"] = f"{workload}-6d9f7c8b4"
    if crashing:
        obj["status"]["conditions"][0]["status"] = "False"
        obj["status"]["containerStatuses"][0].update(
            ready=False, restartCount=4,
            state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}})
    return obj


def log_lines(sandbox: Sandbox) -> bytes:
    """Twelve HTTP 500 access-log lines (rule: more than 10 a minute), three of them not UTF-8."""
    now = sandbox.clock.now()
    out = []
    for i in range(12):
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{i:06d}000Z"
        tail = (b"\xff\xfe", b"\xc3\x28", b"ok \x80")[i % 3] if i % 4 == 0 else b"ok"
        out.append(stamp.encode() + b' 10.0.0.1 - - "GET /api HTTP/1.1" 500 17 ' + tail + b"\n")
    return b"".join(out)


class SlowPrometheus:
    """GET /api/v1/query as Prometheus documents it; while `hanging` it answers only after 2 s."""

    def __init__(self) -> None:
        self.hanging = threading.Event()
        self.hanging.set()
        self.stop = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                if owner.hanging.is_set():
                    owner.stop.wait(2.0)
                body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                    {"metric": {"namespace": "edge", "deployment": "api"}, "value": [time.time(), "0.25"]}]}})
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body.encode())
                except OSError:
                    pass  # the client gave up waiting: that was the point

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> SlowPrometheus:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")

    def about(self, *words: str) -> list[str]:
        return [x for x in self.lines if all(w in x for w in words)]


@dataclass
class Rig:
    engine: Engine
    fired: FiredLog
    watch: KubernetesSource
    logs: LogSource
    prometheus: PrometheusQuerySource
    slow: SlowPrometheus
    records: Records
    api: TestClient


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp: Path = tmp_path_factory.mktemp("bad-input")
    nameless = {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "edge", "resourceVersion": "12"}}
    records = Records()
    logging.getLogger("tagent").addHandler(records)
    with Sandbox() as sandbox, SlowPrometheus() as slow:
        garbage = ["{{{ not json", line("MODIFIED", nameless), '{"type": "ADDED", "object": 3}',
                   "\udcff\udcfe not even UTF-8"]
        script = Script(lists=[([edge_pod("api", "5"), edge_pod("web", "6")], "10")],
                        watches=[[*garbage, line("MODIFIED", edge_pod("api", "13", crashing=True))]],
                        logs={"web-6d9f7c8b4-x2x4z": [log_lines(sandbox)]})
        with watch_server(script) as url:
            engine = sandbox_engine(sandbox, tmp, webhook_token=SecretStr(HOOK_TOKEN))
            fired = FiredLog(engine)
            scripted = KubeClient(k8s.ApiClient(k8s.Configuration(host=url)), request_timeout=5)
            clock = sandbox.clock.now
            watch = KubernetesSource(scripted, engine.ingest, clock=clock, resources=("pods",))
            pattern = engine.ruleset.rules["error-spike-rollback"].spec.when.conditions[0].logs
            assert pattern is not None
            logs = LogSource([SourceQuery(condition_key("error-spike-rollback", 0), pattern.pattern, pattern.window)],
                             engine.ingest, kube=scripted, interval=0.5, clock=clock)
            prometheus = PrometheusQuerySource(PrometheusClient(slow.url, timeout=0.3),
                                               [SourceQuery("edge-probe#0", "sum by (namespace, deployment) (up)")],
                                               engine.ingest, interval=0.2, clock=clock)
            engine.sources.extend([watch, logs, prometheus])  # started and stopped with the engine's own
            engine.start()
            try:
                with TestClient(create_app(engine, settings=engine.settings)) as api:
                    yield Rig(engine, fired, watch, logs, prometheus, slow, records, api)
            finally:
                engine.stop()
                engine.store.close()
                logging.getLogger("tagent").removeHandler(records)


def _still_running(rig: Rig) -> None:
    assert all(s.running for s in rig.engine.sources), {s.name: s.running for s in rig.engine.sources}
    assert rig.engine.ready() == {"store": True, "cluster": True, "rules": True}


def test_malformed_watch_lines_are_counted_and_logged(rig: Rig) -> None:
    wait_for(lambda: rig.watch.stats["malformed_lines"] >= 3 and rig.watch.stats["malformed_objects"] >= 1,
             timeout=15, what="the garbage lines to be counted")
    assert rig.records.about("watch pods", "malformed_lines")
    assert rig.records.about("kubernetes", "malformed_objects")
    # the good line after the garbage still went all the way through
    wait_for(lambda: admitted(rig.engine.store, "crashloop-restart", API), timeout=15,
             what="crashloop-restart on edge/api after the garbage")
    _still_running(rig)


def test_log_lines_that_are_not_utf8_are_counted_and_still_matched(rig: Rig) -> None:
    wait_for(lambda: rig.logs.stats["non_utf8_lines"] >= 3, timeout=15, what="non-UTF-8 lines to be counted")
    assert rig.records.about("logs", "non_utf8_lines")
    # all twelve 500s counted (the three broken lines included: 9 alone would not be "> 10")
    first = wait_for(lambda: rig.fired.of("error-spike-rollback", WEB), timeout=15,
                     what="error-spike-rollback on edge/web")[0]
    events = [rig.engine.state.recent[i] for i in first.decision.event_ids if i in rig.engine.state.recent]
    assert [e.values["count"] for e in events] == [12.0]
    wait_for(lambda: admitted(rig.engine.store, "error-spike-rollback", WEB), timeout=10, what="the guard's yes")
    _still_running(rig)


def test_a_prometheus_that_times_out_is_counted_and_logged(rig: Rig) -> None:
    wait_for(lambda: rig.prometheus.stats["prometheus_timeouts"] >= 2, timeout=15, what="query timeouts")
    assert rig.records.about("prometheus", "prometheus_timeouts", "timed out after 0.3s")
    _still_running(rig)
    rig.slow.hanging.clear()  # Prometheus recovers: its answers reach the engine again
    wait_for(lambda: rig.engine.store.events.list(kind="PromQuery", target=API, limit=1), timeout=15,
             what="a PromQuery event once Prometheus answers")


BAD_BODIES: list[tuple[bytes, int, str]] = [
    (b"{not json", 400, "not valid JSON"),
    (b"\xff\xfe{}", 400, "not valid JSON"),
    (b"[]", 422, "must be a JSON object"),
    (json.dumps({"version": "3", "status": "firing", "alerts": []}).encode(), 422, "version"),
    (json.dumps({"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {}}]}).encode(),
     422, "alertname is required"),
    (json.dumps({"version": "4", "status": "firing", "alerts": "all of them"}).encode(), 422, "alerts"),
]


@pytest.mark.parametrize(("body", "status", "says"), BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_a_malformed_alertmanager_payload_is_refused_with_one_line(rig: Rig, body: bytes, status: int,
                                                                   says: str) -> None:
    headers = {"Authorization": f"Bearer {HOOK_TOKEN}", "Content-Type": "application/json"}
    answer = rig.api.post("/api/alerts/alertmanager", content=body, headers=headers)
    assert answer.status_code == status
    detail = answer.json()["detail"]
    assert says in detail and "\n" not in detail and "Traceback" not in detail
    _still_running(rig)


def test_alertmanager_still_accepts_a_valid_payload(rig: Rig) -> None:
    payload = {"version": "4", "status": "firing", "receiver": "tagent", "groupKey": "{}:{}", "alerts": [
        {"status": "firing", "labels": {"alertname": "EdgeApiDown", "namespace": "edge", "deployment": "api"},
         "annotations": {"summary": "edge/api is down"}, "startsAt": "2030-01-01T00:00:00Z"}]}
    headers = {"Authorization": f"Bearer {HOOK_TOKEN}"}
    assert rig.api.post("/api/alerts/alertmanager", json=payload).status_code == 401
    answer = rig.api.post("/api/alerts/alertmanager", json=payload, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"accepted": 1}
    alert = wait_for(lambda: rig.engine.store.events.list(kind="Alert", limit=1), timeout=10, what="the alert event")
    assert alert[0].reason == "EdgeApiDown" and alert[0].target == API


def test_a_malformed_alertmanager_payload_is_counted(rig: Rig) -> None:
    headers = {"Authorization": f"Bearer {HOOK_TOKEN}", "Content-Type": "application/json"}
    rig.api.post("/api/alerts/alertmanager", content=b"{not json", headers=headers)
    metrics = rig.api.get("/metrics").text
    assert 'tagent_bad_input_total{source="alertmanager"}' in metrics
