"""Log lines a pod writes (access logs, start-up, crashes) and `pods/{name}/log` reading."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.clock import parse_time, rfc3339_nano
from tagent.sandbox.podstate import Container, PodState

AGENTS = ("Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "okhttp/4.12.0", "python-httpx/0.27.0")


def runtime_of(image: str) -> str:
    name = image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    for key, runtime in (("node", "nodejs"), ("python", "python"), ("temurin", "java"), ("openjdk", "java"),
                         ("java", "java"), ("golang", "go"), ("redis", "redis"), ("postgres", "postgres"),
                         ("coredns", "coredns")):
        if key in name:
            return runtime
    return "generic"


STARTUP = {
    "nodejs": ["> app@{v} start", "> node server.js", "Server listening on http://0.0.0.0:{port}"],
    "python": ["INFO:     Started server process [1]", "INFO:     Waiting for application startup.",
               "INFO:     Application startup complete.", "INFO:     Uvicorn running on http://0.0.0.0:{port}"],
    "java": ["  .   ____          _            __ _ _", " :: Spring Boot ::                (v3.3.4)",
             "INFO 1 --- [main] o.s.b.w.embedded.tomcat.TomcatWebServer : Tomcat started on port {port} (http)",
             "INFO 1 --- [main] com.shop.Application : Started Application in 3.412 seconds (version {v})"],
    "go": ['{{"level":"info","msg":"starting","version":"{v}"}}',
           '{{"level":"info","msg":"listening","addr":":{port}"}}'],
    "redis": ["1:C * Redis version=7.2.5, bits=64, commit=00000000, modified=0, pid=1, just started",
              "1:M * Server initialized", "1:M * Ready to accept connections tcp"],
    "postgres": ["LOG:  starting PostgreSQL 16.4 on x86_64-pc-linux-gnu",
                 "LOG:  listening on IPv4 address \"0.0.0.0\", port {port}",
                 "LOG:  database system is ready to accept connections"],
    "coredns": [".:53", "CoreDNS-1.11.1", "linux/amd64, go1.20.7, ae2bbc2"],
    "generic": ["starting version {v}", "listening on port {port}"],
}

CRASH = {
    "nodejs": ["Error: connect ECONNREFUSED 10.96.0.20:5432",
               "    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)",
               "Node.js v20.17.0"],
    "python": ["Traceback (most recent call last):", '  File "/app/main.py", line 42, in <module>',
               "ConnectionError: could not connect to upstream: connection refused"],
    "java": ["ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed",
             "java.lang.IllegalStateException: Failed to load ApplicationContext",
             "Caused by: java.net.ConnectException: Connection refused"],
    "go": ["panic: runtime error: invalid memory address or nil pointer dereference",
           "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a2f1c]", "goroutine 1 [running]:"],
    "generic": ["fatal: unrecoverable error, exiting"],
}

OOM = {
    "java": ['Exception in thread "http-nio-8080-exec-7" java.lang.OutOfMemoryError: Java heap space'],
    "nodejs": ["<--- Last few GCs --->", "FATAL ERROR: Reached heap limit Allocation failed - "
               "JavaScript heap out of memory"],
    "python": ["MemoryError"],
    "go": ["fatal error: runtime: out of memory"],
}

ERROR_LINE = {
    "nodejs": "TypeError: Cannot read properties of undefined (reading 'id') at /app/routes.js:88:21",
    "python": "ERROR:    Exception in ASGI application: KeyError: 'customer_id'",
    "java": "ERROR 1 --- [nio-8080-exec-3] c.s.p.PaymentController : java.lang.NullPointerException: amount",
    "go": '{"level":"error","msg":"handler failed","error":"upstream returned 502"}',
}

CHATTER = {
    "redis": "1:M * 100 changes in 300 seconds. Saving...",
    "postgres": "LOG:  checkpoint complete: wrote {n} buffers (0.3%); 0 WAL file(s) added",
    "coredns": '[INFO] 10.244.1.{n}:5{n}11 - {n} "A IN checkout.shop.svc.cluster.local. udp 51 false 512" '
               "NOERROR qr,aa,rd 110 0.000{n}s",
    "generic": "heartbeat ok ({n})",
}


def _fill(lines: Iterable[str], pod: PodState) -> list[str]:
    return [line.format(v=pod.profile.version, port=pod.profile.port or 8080) for line in lines]


def startup_lines(pod: PodState, c: Container) -> list[str]:
    return _fill(STARTUP.get(runtime_of(c.image), STARTUP["generic"]), pod)


def crash_lines(pod: PodState, c: Container, oom: bool) -> list[str]:
    runtime = runtime_of(c.image)
    if oom:
        return OOM.get(runtime, [])
    return _fill(CRASH.get(runtime, CRASH["generic"]), pod)


def chatter_line(c: Container, rng: random.Random) -> str:
    return CHATTER.get(runtime_of(c.image), CHATTER["generic"]).format(n=rng.randint(10, 99))


def access_line(now: datetime, client: str, method: str, path: str, code: str, size: int, ms: float,
                agent: str) -> str:
    """Combined log format plus the latency: `... "GET /api/x HTTP/1.1" 200 512 "-" "curl/8.5.0" 12ms`."""
    stamp = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{client} - - [{stamp}] "{method} {path} HTTP/1.1" {code} {size} "-" "{agent}" {ms:.0f}ms'


def error_line(c: Container) -> str | None:
    return ERROR_LINE.get(runtime_of(c.image))


def read_logs(pod: PodState, query: dict[str, str], now: datetime) -> list[str]:
    """The lines `GET .../log` returns for a query (container, previous, tailLines, sinceSeconds, ...)."""
    c = pick_container(pod, query.get("container"))
    source = c.logs
    if query.get("previous") in ("true", "1"):
        if c.previous_logs is None:
            raise ApiError(400, f'previous terminated container "{c.name}" in pod "{pod.name}" not found')
        source = c.previous_logs
    entries = list(source)
    if "sinceSeconds" in query:
        try:
            since = now - timedelta(seconds=int(query["sinceSeconds"]))
        except ValueError as exc:
            raise ApiError(400, "sinceSeconds must be an integer") from exc
        entries = [e for e in entries if e[0] >= since]
    elif "sinceTime" in query:
        try:
            cutoff = parse_time(query["sinceTime"])
        except ValueError as exc:
            raise ApiError(400, "sinceTime must be an RFC 3339 time") from exc
        entries = [e for e in entries if e[0] >= cutoff]
    if "tailLines" in query:
        try:
            tail = int(query["tailLines"])
        except ValueError as exc:
            raise ApiError(400, "tailLines must be an integer") from exc
        entries = entries[-tail:] if tail > 0 else []
    return format_lines(entries, query.get("timestamps") in ("true", "1"))


def format_lines(entries: Iterable[tuple[datetime, str]], timestamps: bool) -> list[str]:
    return [f"{rfc3339_nano(t)} {line}" if timestamps else line for t, line in entries]


def pick_container(pod: PodState, name: str | None) -> Container:
    if name:
        for c in pod.containers:
            if c.name == name:
                return c
        raise ApiError(400, f"container {name} is not valid for pod {pod.name}")
    if len(pod.containers) > 1:
        names = " ".join(c.name for c in pod.containers)
        raise ApiError(400, f"a container name must be specified for pod {pod.name}, choose one of: [{names}]")
    return pod.containers[0]
