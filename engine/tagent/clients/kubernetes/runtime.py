"""Which runtime a workload runs (Node.js, Python, Java, Go, a database, a cache), inferred the way a
person would, strongest evidence first:

1. an explicit `tagent.io/runtime` label or annotation;
2. what the process says about itself: the OpenTelemetry resource attributes of its spans
   (`telemetry.sdk.language`, `process.runtime.name`);
3. how the container is started: its command and args (`java -jar`, `node`, `python`, `gunicorn` ...) and
   environment (`JAVA_TOOL_OPTIONS`/`JAVA_OPTS`/`JDK_JAVA_OPTIONS`, `NODE_OPTIONS`, `PYTHON*`,
   `GOMAXPROCS`/`GODEBUG`/`GOMEMLIMIT`/`GOGC`), so `ghcr.io/acme/payment-api` with `JAVA_TOOL_OPTIONS` is Java;
4. the image names;
5. a single static binary as the command (`/app/server`, no interpreter): Go, the usual case, but a Rust or
   C binary looks the same, so it only counts when the image name said nothing;
6. the well-known app labels, then well-known ports.

Within one name, data stores win over languages (`redis-node` is a cache); across containers, the first
(main) container decides."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tagent.model.inventory import Runtime

RUNTIME_LABEL = "tagent.io/runtime"

# (runtime, names) in priority order: an image/app name matches when it is one of the names, or one of
# its `-`/`_`/`.` separated tokens is.
_NAMES: tuple[tuple[Runtime, frozenset[str]], ...] = (
    (Runtime.database, frozenset({"postgres", "postgresql", "mysql", "mariadb", "mongo", "mongodb", "cockroachdb",
                                  "cassandra", "timescaledb", "percona"})),
    (Runtime.cache, frozenset({"redis", "memcached", "valkey", "keydb", "dragonfly", "hazelcast"})),
    (Runtime.java, frozenset({"eclipse-temurin", "temurin", "openjdk", "java", "jdk", "jre", "amazoncorretto",
                              "corretto", "tomcat", "jetty", "spring", "springboot", "ibm-semeru-runtimes"})),
    (Runtime.nodejs, frozenset({"node", "nodejs", "express", "nestjs", "nextjs", "deno", "bun"})),
    (Runtime.python, frozenset({"python", "python3", "django", "flask", "fastapi", "gunicorn", "uvicorn", "pypy"})),
    (Runtime.go, frozenset({"golang", "go", "distroless-go", "coredns", "etcd", "traefik", "caddy"})),
)
_COMPONENT = {"database": Runtime.database, "db": Runtime.database, "cache": Runtime.cache}
_PORTS = {5432: Runtime.database, 3306: Runtime.database, 27017: Runtime.database, 26257: Runtime.database,
          9042: Runtime.database, 6379: Runtime.cache, 11211: Runtime.cache}
_APP_LABELS = ("app.kubernetes.io/name", "app", "app.kubernetes.io/component", "component", "language",
               "runtime")
_TOKEN = re.compile(r"[-_.]")


def image_name(image: str) -> str:
    """`registry:5000/org/python:3.12-slim@sha256:...` → `python`."""
    path = image.split("@", 1)[0]
    last = path.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def _by_name(name: str) -> Runtime | None:
    name = name.lower().strip()
    if not name:
        return None
    tokens = set(_TOKEN.split(name))
    for runtime, names in _NAMES:
        if name in names or tokens & names:
            return runtime
    return None


_OTEL_LANGUAGES = {"java": Runtime.java, "nodejs": Runtime.nodejs, "python": Runtime.python, "go": Runtime.go}
_OTEL_RUNTIMES = (("openjdk", Runtime.java), ("java", Runtime.java), ("jdk", Runtime.java), ("node", Runtime.nodejs),
                  ("cpython", Runtime.python), ("pypy", Runtime.python), ("python", Runtime.python),
                  ("go", Runtime.go))
_ENV_PREFIXES = ((("JAVA_TOOL_OPTIONS", "JAVA_OPTS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS"), Runtime.java),
                 (("NODE_OPTIONS", "NODE_ENV", "NODE_PATH"), Runtime.nodejs),
                 (("PYTHON",), Runtime.python),
                 (("GOMAXPROCS", "GODEBUG", "GOMEMLIMIT", "GOGC", "GOTRACEBACK"), Runtime.go))
_COMMANDS = ((re.compile(r"^(java|jshell)$"), Runtime.java),
             (re.compile(r"^(node|nodejs|npm|npx|yarn|pnpm|bun|deno|ts-node)$"), Runtime.nodejs),
             (re.compile(r"^(python[0-9.]*|pypy[0-9.]*|gunicorn|uvicorn|hypercorn|celery|daphne|flask|django-admin"
                         r"|pip[0-9.]*|uv)$"), Runtime.python),
             (re.compile(r"^go$"), Runtime.go))
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "env", "tini", "dumb-init", "exec"})
_NOT_GO = frozenset({"rust", "gcc", "clang", "zig", "swift", "haskell", "dotnet", "aspnet", "ruby", "php", "perl"})
_STATIC = re.compile(r"^/(?:[\w.-]+/)*[\w.-]+$")  # an absolute path to one binary: /app/server, /manager


def runtime_from_otel(attributes: Mapping[str, object] | None) -> Runtime | None:
    """The runtime an OpenTelemetry SDK reports in its resource (`telemetry.sdk.language`, then
    `process.runtime.name`); None for languages without a runtime here (cpp, rust, dotnet ...)."""
    if not attributes:
        return None
    language = str(attributes.get("telemetry.sdk.language") or "").lower()
    if language in _OTEL_LANGUAGES:
        return _OTEL_LANGUAGES[language]
    name = str(attributes.get("process.runtime.name") or "").lower()
    return next((runtime for key, runtime in _OTEL_RUNTIMES if name and key in name.split()[0]), None)


def _words(container: Mapping[str, object]) -> list[str]:
    return [str(w) for key in ("command", "args") if isinstance(v := container.get(key), list) for w in v]


def runtime_from_container(container: Mapping[str, object]) -> Runtime | None:
    """The runtime a container's command, args or environment names (a raw core/v1 Container)."""
    for word in _words(container)[:8]:  # `sh -c "exec java -jar app.jar"` names it further in
        for part in re.split(r"[\s;&|]+", word):
            base = part.rsplit("/", 1)[-1]
            if base.endswith(".jar") or part == "-jar":
                return Runtime.java
            for pattern, runtime in _COMMANDS:
                if pattern.match(base):
                    return runtime
    env = container.get("env")
    names = [str(e.get("name", "")) for e in env if isinstance(e, Mapping)] if isinstance(env, list) else []
    for prefixes, runtime in _ENV_PREFIXES:
        if any(n.startswith(prefixes) for n in names):
            return runtime
    return None


def _static_binary(container: Mapping[str, object]) -> bool:
    """Started as one absolute path with plain flags (no shell, no interpreter): a compiled binary."""
    words = _words(container)
    return bool(words) and bool(_STATIC.match(words[0])) and words[0].rsplit("/", 1)[-1] not in _SHELLS


def infer_runtime(images: Iterable[str], labels: Mapping[str, str], ports: Iterable[int] = (),
                  annotations: Mapping[str, str] | None = None, *,
                  containers: Iterable[Mapping[str, object]] = (),
                  otel: Mapping[str, object] | None = None) -> Runtime:
    """`containers`: the raw pod-template containers (command, args, env); `otel`: the resource attributes
    of the workload's spans, when the engine has seen any."""
    explicit = labels.get(RUNTIME_LABEL) or (annotations or {}).get(RUNTIME_LABEL)
    if explicit:
        try:
            return Runtime(explicit.lower())
        except ValueError:
            pass
    if (runtime := runtime_from_otel(otel)) is not None:
        return runtime
    specs = list(containers)
    for spec in specs[:1]:  # the main container's command and environment
        if (runtime := runtime_from_container(spec)) is not None:
            return runtime
    found = [r for r in (_by_name(image_name(i)) for i in images) if r is not None]
    if found:
        return found[0]  # containers in pod order: the main container comes first by convention
    other_language = any(set(_TOKEN.split(image_name(i))) & _NOT_GO for i in images)  # rust:1.80 builds no Go
    if specs and _static_binary(specs[0]) and not other_language:
        return Runtime.go
    for key in _APP_LABELS:
        value = labels.get(key, "")
        if value in _COMPONENT:
            return _COMPONENT[value]
        if (runtime := _by_name(value)) is not None:
            return runtime
    for port in ports:
        if port in _PORTS:
            return _PORTS[port]
    return Runtime.unknown
