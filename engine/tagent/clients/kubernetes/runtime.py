"""Which runtime a workload runs (Node.js, Python, Java, Go, a database, a cache), inferred the way a
person would: an explicit `tagent.io/runtime` label or annotation first, then the image names, then the
well-known app labels, then well-known ports. Within one name, data stores win over languages
(`redis-node` is a cache); across containers, the first (main) container decides."""

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


def infer_runtime(images: Iterable[str], labels: Mapping[str, str], ports: Iterable[int] = (),
                  annotations: Mapping[str, str] | None = None) -> Runtime:
    explicit = labels.get(RUNTIME_LABEL) or (annotations or {}).get(RUNTIME_LABEL)
    if explicit:
        try:
            return Runtime(explicit.lower())
        except ValueError:
            pass
    found = [r for r in (_by_name(image_name(i)) for i in images) if r is not None]
    if found:
        return found[0]  # containers in pod order: the main container comes first by convention
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
