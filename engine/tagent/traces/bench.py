"""The traces benchmark (`tagent bench traces`): spans through the real OTLP/HTTP receiver into the embedded store.

The receiver (`make_app(traces)`, served by uvicorn on 127.0.0.1 in this process, its writer thread included)
takes protobuf ExportTraceServiceRequests of `batch` spans from `posters` separate processes (so their
encoding does not share this process' GIL). A 503 (queue full) is retried after a short pause and counted.
Measured: spans per second from the first request sent to the last span committed, request latency, then
the retention sweep trimming the store to `cap` spans: rows and bytes after it, and how long it took.
Numbers are printed, never asserted.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn

from tagent.store import Store
from tagent.store.repos.traces import Spans
from tagent.traces.service import Traces
from tagent.traces.writer import SpanWriter

SERVICES = ("frontend", "cart", "checkout", "payment-service", "postgres")


def request_body(n: int, rnd: random.Random, t0_ns: int) -> bytes:
    """One ExportTraceServiceRequest of `n` spans over the shop's services: traces of five spans (a SERVER
    entry and CLIENT children), 2 % errors, latencies of 1-90 ms, the usual HTTP attributes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    request = ExportTraceServiceRequest()
    scopes = []
    for name in SERVICES:
        resource_spans = request.resource_spans.add()
        for key, value in (("service.name", name), ("service.namespace", "shop"), ("telemetry.sdk.language", "go")):
            resource_spans.resource.attributes.add(key=key, value=AnyValue(string_value=value))
        scopes.append(resource_spans.scope_spans.add())
    parent = b""
    trace_id = rnd.randbytes(16)
    for i in range(n):
        if i % len(SERVICES) == 0:
            trace_id, parent = rnd.randbytes(16), b""
        span = scopes[i % len(SERVICES)].spans.add()
        span.trace_id, span.span_id, span.parent_span_id = trace_id, rnd.randbytes(8), parent
        parent = span.span_id
        span.name, span.kind = "GET /api/items", 2 if i % 2 == 0 else 3
        span.start_time_unix_nano = t0_ns + i * 10_000
        span.end_time_unix_nano = span.start_time_unix_nano + rnd.randint(1_000_000, 90_000_000)
        failed = rnd.random() < 0.02
        for key, text in (("http.request.method", "GET"), ("http.route", "/api/items"),
                          ("server.address", "cart.shop.svc")):
            span.attributes.add(key=key, value=AnyValue(string_value=text))
        span.attributes.add(key="http.response.status_code", value=AnyValue(int_value=500 if failed else 200))
        if failed:
            span.status.code = 2
    return request.SerializeToString()


def _poster(url: str, requests: int, batch: int, seed: int, out: Any, flag: Path) -> None:
    """One poster process: build its bodies first (untimed), wait for the start signal, post them all."""
    rnd = random.Random(seed)
    now = time.time_ns()
    bodies = [request_body(batch, rnd, now - rnd.randint(0, 600) * 1_000_000_000) for _ in range(requests)]
    out.put(("ready", seed))
    latencies, busy = [], 0
    with httpx.Client(timeout=60, headers={"content-type": "application/x-protobuf"}) as client:
        while not flag.exists():  # the start signal: every poster begins at once
            time.sleep(0.005)
        for body in bodies:
            while True:
                began = time.perf_counter()
                response = client.post(url, content=body)
                if response.status_code == 503:
                    busy += 1
                    time.sleep(0.05)
                    continue
                response.raise_for_status()
                latencies.append(time.perf_counter() - began)
                break
    out.put(("done", latencies, busy))


@contextmanager
def _serving(app: Any) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="otlp-bench", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run_traces_bench(make_app: Callable[[Traces], Any], *, spans: int = 200_000, batch: int = 500,
                     posters: int = 3, cap: int = 100_000, db_url: str | None = None) -> dict[str, Any]:
    requests_each = max(1, spans // (batch * posters))
    with tempfile.TemporaryDirectory(prefix="tagent-traces-bench-") as tmp:
        store = Store.open(db_url or f"sqlite:///{Path(tmp) / 'tagent.db'}")
        writer = SpanWriter(Spans(store.db), retention_s=86_400.0, max_spans=cap, sweep_every=3600.0)
        traces = Traces(writer.spans, writer)
        flag = Path(tmp) / "start"
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        proc = psutil.Process()
        load_start = os.getloadavg()
        with _serving(make_app(traces)) as url:
            workers = [ctx.Process(target=_poster, args=(f"{url}/v1/traces", requests_each, batch, seed, queue, flag))
                       for seed in range(posters)]
            for worker in workers:
                worker.start()
            for _ in workers:
                queue.get(timeout=600)  # ready
            cpu_before = sum(proc.cpu_times()[:2])
            began = time.perf_counter()
            flag.touch()
            results = [queue.get(timeout=1800) for _ in workers]
            traces.flush(timeout=600)
            elapsed = time.perf_counter() - began
            cpu = sum(proc.cpu_times()[:2]) - cpu_before
            for worker in workers:
                worker.join(30)
        stored = writer.spans.count()
        trim_began = time.perf_counter()
        trimmed = writer.sweep()
        trim_s = time.perf_counter() - trim_began
        latencies = sorted(x for r in results for x in r[1])
        total = requests_each * posters * batch
        result = {
            "spans": total, "batch": batch, "posters": posters, "requests": len(latencies),
            "spans_per_s": round(total / elapsed), "wall_s": round(elapsed, 2),
            "request_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "request_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
            "busy_503": sum(r[2] for r in results), "stored_before_trim": stored, "cap": cap,
            "trimmed": trimmed, "trim_s": round(trim_s, 2), "rows_after_trim": writer.spans.count(),
            "bytes_after_trim": writer.spans.size_bytes(), "receiver_cpu_s": round(cpu, 2),
            "rss_mb": round(proc.memory_info().rss / 2**20, 1), "load_avg_start": round(load_start[0], 2),
            "load_avg_end": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
            "python": platform.python_version(), "database": store.db.dialect,
        }
        writer.stop()
        store.close()
        return result
