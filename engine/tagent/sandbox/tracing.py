"""Traces of the simulated services: real OTLP spans, made with the OpenTelemetry SDK and exported over
OTLP/HTTP, that follow the simulation.

Every tick a bounded number of requests is traced (`traces_per_s` per wall second in total, however fast
the sandbox clock runs). A trace starts at a workload nobody calls (the shop's frontend) and follows the
scenario's `calls`: a SERVER span in a ready pod of each service, a CLIENT span in the caller for each call,
and for a database or cache (a workload that does not serve HTTP) a CLIENT span with `db.system` plus the
store's own SERVER span. Each service's own time, status code and errors are drawn exactly as `traffic`
draws the requests it counts (same latency distribution, the same faults). A 5xx of a callee makes the
caller's CLIENT span for that call an error (status ERROR, `error.type`), as an instrumented HTTP client
records it; the caller's own SERVER span keeps the status the simulation drew for it, so each service's
error ratio from spans is its own, as its Prometheus counters and access logs are (a rule on one service's
errors does not fire on every caller of a failing dependency). A callee without a ready pod refuses the call
(503 and `error.type: connection_refused` on the CLIENT span, no SERVER span).

One TracerProvider per pod holds the pod's Resource (service.name, service.namespace, k8s.*, and the
runtime's telemetry.sdk.language and process.runtime.name); all of them share one BatchSpanProcessor and
exporter, so the export runs in one background thread and never blocks the simulation: when the receiver
is down the batches are dropped (and counted by the SDK's log, rate-limited here).

Spans carry sandbox time, like every other timestamp of the sandbox, so an engine running on the sandbox
clock (the demo) sees them in its "last 15 minutes"; with `wall_clock` they carry wall time instead, for an
engine on wall time beside a faster sandbox (`tagent sandbox up` does that). At speed 1 both agree. The root
span's trace state says how the trace was sampled (`ot=th:...`, OpenTelemetry's probability sampling), so
a reader can weigh the traces back up to the simulated request rate.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TraceState

from tagent.sandbox.faults import Effects
from tagent.sandbox.podstate import PodState
from tagent.sandbox.scenario import WorkloadSpec
from tagent.sandbox.traffic import draw, median_seconds

TRACES_PER_S = 20.0  # wall second, whole cluster
MAX_DEPTH = 8
NET_S = 0.0003  # one network hop inside the cluster
Key = tuple[str, str]  # (namespace, workload)

# runtime -> (telemetry.sdk.language, process.runtime.name), guessed from the image as the SDK would report it
RUNTIMES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("temurin", "openjdk", "java", "jdk", "jre", "corretto", "tomcat", "spring"), "java",
     "OpenJDK Runtime Environment"),
    (("node", "nodejs", "deno", "bun"), "nodejs", "nodejs"),
    (("python", "pypy", "django", "flask", "fastapi", "uvicorn", "gunicorn"), "python", "cpython"),
    (("golang", "go", "coredns", "etcd"), "go", "go"),
)
DB_SYSTEMS = {"postgres": "postgresql", "mysql": "mysql", "mariadb": "mariadb", "mongo": "mongodb",
              "redis": "redis", "valkey": "redis", "memcached": "memcached"}


def runtime_of(image: str) -> tuple[str, str] | None:
    """(telemetry.sdk.language, process.runtime.name) of an image such as `eclipse-temurin:21`, or None."""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
    tokens = {name, *name.replace("_", "-").split("-")}
    for names, language, runtime in RUNTIMES:
        if tokens & set(names):
            return language, runtime
    return None


def db_system(image: str) -> str:
    name = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
    return next((system for key, system in DB_SYSTEMS.items() if key in name), "other_sql")


def threshold(probability: float) -> str:
    """OpenTelemetry's sampling threshold (`th`) for a probability: rejected share of 2^56, in hex."""
    if probability >= 1.0:
        return "0"
    value = round((1.0 - max(probability, 2.0**-56)) * 2**56)
    return f"{value:014x}".rstrip("0") or "0"


class _RootSampler(Sampler):
    """Samples every span it is asked about (the sandbox chooses which requests to trace) and writes the
    current sampling probability into a root span's trace state."""

    def __init__(self) -> None:
        self.probability = 1.0

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Any = None, links: Any = None,
                      trace_state: TraceState | None = None) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes,
                              TraceState([("ot", f"th:{threshold(self.probability)}")]))

    def get_description(self) -> str:
        return "SandboxRootSampler"


class _EveryNth(logging.Filter):
    """Let the 1st, 10th, 100th ... record through: an engine that is not up yet fails every export."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen += 1
        return len(str(self.seen)) > len(str(self.seen - 1)) or self.seen == 1


def otlp_exporter(endpoint: str, token: str | None = None, timeout: float = 3.0) -> SpanExporter:
    """The OTLP/HTTP (protobuf) exporter to `endpoint` (`http://host:port/v1/traces`), with a bearer token."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = {"Authorization": f"Bearer {token}"} if token else None
    for name in ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.sdk.trace.export"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _EveryNth) for f in logger.filters):
            logger.addFilter(_EveryNth())
    return OTLPSpanExporter(endpoint=endpoint, headers=headers, timeout=timeout)


class Tracing:
    """Turns the simulation's requests into spans; `tick()` runs in the simulation thread after the kubelet."""

    def __init__(self, exporter: SpanExporter, *, traces_per_s: float = TRACES_PER_S, seed: int | None = None,
                 schedule_delay_ms: float = 500.0, wall_clock: Callable[[], float] | None = None) -> None:
        """`wall_clock` (e.g. time.time): stamp spans with wall time instead of sandbox time, for an engine
        that runs on wall time while the sandbox runs faster (`tagent run` beside `tagent sandbox up --speed
        60`); durations stay the simulated ones."""
        self.traces_per_s, self.wall_clock = traces_per_s, wall_clock
        self.processor = BatchSpanProcessor(exporter, max_queue_size=8192, schedule_delay_millis=schedule_delay_ms,
                                            max_export_batch_size=512, export_timeout_millis=5000)
        self.stats: Counter[str] = Counter()
        self._sampler = _RootSampler()
        self._providers: dict[str, TracerProvider] = {}
        self._rng = random.Random(seed)  # its own stream: tracing never changes what the simulation draws
        self._carry = 0.0
        self._profiles: Mapping[Key, WorkloadSpec] = {}

    # -- the tick ------------------------------------------------------------------------------------
    def tick(self, pods: Iterable[PodState], effects: Callable[[PodState], Effects],
             profiles: Mapping[Key, WorkloadSpec], now: datetime, dt: float, speed: float) -> int:
        """Trace this tick's share of requests; returns how many traces were made. `profiles`: the scenario's
        workloads (their `calls`)."""
        self._profiles = profiles
        live = list(pods)
        self._forget({p.uid for p in live})
        serving: dict[Key, list[PodState]] = {}
        for p in live:
            if p.workload and (p.ready(now) if p.profile.http else p.running()):
                serving.setdefault((p.namespace, p.workload), []).append(p)
        called = {callee for w in profiles.values() for callee in w.callees()}
        roots = [(key, ps) for key, ps in serving.items() if key not in called and ps[0].profile.http]
        rates = [sum(p.profile.rps * effects(p).load for p in ps) * dt for _, ps in roots]
        total = sum(rates)
        self._carry = min(self._carry + self.traces_per_s * dt / max(speed, 1e-9), self.traces_per_s)
        n = int(self._carry)
        if total <= 0 or n <= 0 or dt <= 0:
            return 0
        self._carry -= n
        self._sampler.probability = min(1.0, n / total)
        anchor, span = (now.timestamp(), dt) if self.wall_clock is None else (self.wall_clock(), dt / speed)
        for _ in range(n):
            (key, ps), = self._rng.choices(roots, weights=rates)
            start = anchor - span * self._rng.random()
            self._serve(self._rng.choice(ps), start, None, serving, effects, (key,))
            self.stats["traces"] += 1
        return n

    def _forget(self, live: set[str]) -> None:
        for uid in [u for u in self._providers if u not in live]:
            del self._providers[uid]

    def _tracer(self, pod: PodState) -> trace.Tracer:
        provider = self._providers.get(pod.uid)
        if provider is None:
            provider = TracerProvider(resource=Resource(resource_attributes(pod)), sampler=ParentBased(self._sampler),
                                      shutdown_on_exit=False)
            provider.add_span_processor(self.processor)
            self._providers[pod.uid] = provider
        return provider.get_tracer("tagent.sandbox", pod.profile.version)

    # -- one service's part of a trace ---------------------------------------------------------------
    def _serve(self, pod: PodState, start: float, parent: Context | None, serving: Mapping[Key, list[PodState]],
               effects: Callable[[PodState], Effects], path: tuple[Key, ...]) -> tuple[float, str, str, str]:
        """The SERVER span of `pod` for one request from `start` (epoch seconds), with its calls inside;
        returns (end, status code, method, path)."""
        profile, fx = pod.profile, effects(pod)
        code, method, url_path, seconds = draw(profile, fx, median_seconds(pod, fx), self._rng)
        own = max(seconds - fx.downstream_s, 0.0002)  # the callees' latency faults happen inside the calls
        route = url_path if not url_path[-1:].isdigit() else url_path.rsplit("/", 1)[0] + "/{id}"
        span = self._tracer(pod).start_span(
            f"{method} {route}", context=parent, kind=SpanKind.SERVER, start_time=_ns(start),
            attributes={"http.request.method": method, "url.path": url_path, "http.route": route,
                        "url.scheme": "http", "server.address": f"{profile.name}.{profile.namespace}",
                        "server.port": profile.port or 80, "network.protocol.version": "1.1"})
        self.stats["spans"] += 1
        inside = trace.set_span_in_context(span)
        cursor = start + own * 0.3
        for callee in profile.callees():
            if len(path) < MAX_DEPTH and callee not in path:
                cursor, _ = self._call(pod, callee, cursor, inside, serving, effects, (*path, callee))
        end = cursor + own * 0.7
        _finish(span, code, end, server=True)
        return end, code, method, url_path

    def _call(self, pod: PodState, callee: Key, start: float, parent: Context,
              serving: Mapping[Key, list[PodState]], effects: Callable[[PodState], Effects],
              path: tuple[Key, ...]) -> tuple[float, bool]:
        """The caller's CLIENT span for one call (and the callee's part inside it); returns (end, ok)."""
        targets = serving.get(callee, [])
        profile = self._profiles.get(callee) or (targets[0].profile if targets else None)
        store = profile is not None and not profile.http
        ns, name = callee
        attributes: dict[str, Any] = {"server.address": f"{name}.{ns}.svc.cluster.local"}
        if profile is not None and store:
            system = db_system(profile.image)
            operation = "GET" if system == "redis" else self._rng.choice(("SELECT", "SELECT", "INSERT", "UPDATE"))
            span_name = operation if system == "redis" else f"{operation} {pod.profile.name.replace('-', '_')}"
            attributes.update({"db.system": system, "db.system.name": system, "db.operation.name": operation,
                               "db.namespace": pod.profile.namespace, "server.port": profile.port or 0})
        else:
            span_name = "GET"  # renamed once the callee drew its request
            attributes.update({"http.request.method": "GET", "url.full": f"http://{name}.{ns}/"})
        span = self._tracer(pod).start_span(span_name, context=parent, kind=SpanKind.CLIENT,
                                            start_time=_ns(start), attributes=attributes)
        self.stats["spans"] += 1
        if not targets:  # nobody listens: connection refused
            end = start + NET_S * 3
            _finish(span, "503", end, server=False, db=store, error_type="connection_refused")
            return end, False
        inside = trace.set_span_in_context(span)
        target = self._rng.choice(targets)
        if store:
            child_end, code = self._store(target, start + NET_S, inside, effects(target), span_name, attributes)
        else:
            child_end, code, method, url_path = self._serve(target, start + NET_S, inside, serving, effects, path)
            span.update_name(method)
            span.set_attributes({"http.request.method": method, "url.full": f"http://{name}.{ns}{url_path}",
                                 "server.port": target.profile.port or 80})
        end = child_end + NET_S
        _finish(span, code, end, server=False, db=store)
        return end, not code.startswith("5")

    def _store(self, pod: PodState, start: float, parent: Context, fx: Effects, name: str,
               attributes: Mapping[str, Any]) -> tuple[float, str]:
        """A database or cache answering one query: its own SERVER span."""
        seconds = self._rng.lognormvariate(math.log(max(pod.profile.latency_ms, 0.01) / 1000.0), 0.35) + fx.delay_s
        code = "500" if self._rng.random() < fx.error_share else "200"
        span = self._tracer(pod).start_span(name, context=parent, kind=SpanKind.SERVER, start_time=_ns(start),
                                            attributes={k: v for k, v in attributes.items() if k.startswith("db.")})
        self.stats["spans"] += 1
        end = start + seconds
        _finish(span, code, end, server=True, db=True)
        return end, code

    def shutdown(self) -> None:
        """Export what is queued (bounded by the export timeout) and stop the export thread."""
        self.processor.shutdown()

    def flush(self, timeout_ms: int = 5000) -> bool:
        return self.processor.force_flush(timeout_ms)


def resource_attributes(pod: PodState) -> dict[str, Any]:
    """What the OpenTelemetry SDK (and the Kubernetes attributes processor) would put on the pod's spans."""
    attrs: dict[str, Any] = {
        "service.name": pod.workload or pod.name, "service.namespace": pod.namespace,
        "service.version": pod.profile.version, "service.instance.id": pod.uid,
        "k8s.namespace.name": pod.namespace, "k8s.pod.name": pod.name, "k8s.pod.uid": pod.uid,
        "k8s.node.name": pod.node, "telemetry.sdk.name": "opentelemetry",
    }
    attrs["k8s.statefulset.name" if pod.workload_kind == "StatefulSet" else "k8s.deployment.name"] = pod.workload
    image = pod.containers[0].image if pod.containers else pod.profile.image
    runtime = runtime_of(image)
    if runtime is not None:
        attrs["telemetry.sdk.language"], attrs["process.runtime.name"] = runtime
    elif pod.profile.http:
        attrs["telemetry.sdk.language"] = "cpp"
    return attrs


def _finish(span: Span, code: str, end: float, *, server: bool, db: bool = False, error_type: str = "") -> None:
    """Status per the semantic conventions: a server errs on 5xx, a client on 4xx and 5xx."""
    if not db and not error_type:  # a refused connection got no answer
        span.set_attribute("http.response.status_code", int(code))
    failed = code.startswith("5") or (not server and code.startswith("4"))
    if failed:
        span.set_attribute("error.type", error_type or code)
        span.set_status(Status(StatusCode.ERROR, f"HTTP {code}" if not db else "query failed"))
    span.end(end_time=_ns(end))


def _ns(epoch_seconds: float) -> int:
    return int(epoch_seconds * 1e9)

