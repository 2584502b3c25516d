"""`Sandbox`: the local Kubernetes API server with simulated workloads, in one object.

    with Sandbox(speed=60) as sb:
        path = sb.write_kubeconfig(tmp / "kubeconfig")
        sb.inject("crashloop", "shop", "payment-service")
"""

from __future__ import annotations

import http.client
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from tagent.sandbox import kubeconfig, tls
from tagent.sandbox.authz import Authorizer
from tagent.sandbox.clock import SandboxClock
from tagent.sandbox.router import METRICS_PATH, Api
from tagent.sandbox.scenario import Scenario, default_scenario, load_scenario
from tagent.sandbox.server import SandboxHTTPServer
from tagent.sandbox.simulation import Simulation
from tagent.sandbox.store import Store
from tagent.sandbox.tracing import TRACES_PER_S, SpanExporter, Tracing, otlp_exporter


class Sandbox:
    """A started Sandbox serves the Kubernetes API on 127.0.0.1 and runs the simulation in threads."""

    metrics_path = METRICS_PATH

    def __init__(self, port: int = 0, speed: float = 1.0, scenario: Scenario | Path | str | None = None,
                 token: str | None = None, host: str = "127.0.0.1", seed: int | None = None,
                 start: datetime | None = None, otlp_endpoint: str | None = None,
                 otlp_token: str | None = None, otlp_wall_time: bool = False) -> None:
        """`speed`: sandbox seconds per wall second; `start`: the sandbox clock's start (aware; default now);
        `scenario`: a Scenario or a YAML path (default: the built-in shop); `seed`: a repeatable simulation;
        `otlp_endpoint`: where the services send their spans (OTLP/HTTP, `http://HOST:PORT/v1/traces`, with
        `otlp_token` as bearer token, in wall time with `otlp_wall_time`; default: no traces, see `trace()`)."""
        if isinstance(scenario, str | Path):
            scenario = load_scenario(Path(scenario))
        self.scenario = scenario or default_scenario()
        self.clock = SandboxClock(speed, start=start)
        self.simulation = Simulation(self.clock, self.scenario, seed)
        self._seed = seed
        if otlp_endpoint:
            self.trace(otlp_exporter(otlp_endpoint, otlp_token), wall_time=otlp_wall_time)
        self._token = token or secrets.token_urlsafe(24)
        self.authz = Authorizer()  # tokens bound to RBAC rules (add_token), and what they were refused
        self._host, self._port = host, port
        self._stop = threading.Event()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped_port = 0

    def __repr__(self) -> str:
        state = self.url if self._server else "stopped"
        return f"Sandbox({state}, speed={self.clock.speed})"

    @property
    def store(self) -> Store:
        return self.simulation.store

    @property
    def token(self) -> str:
        """The bearer token every API request needs (kept out of repr and logs)."""
        return self._token

    @property
    def port(self) -> int:
        if self._server is None:
            if self._stopped_port:
                return self._stopped_port
            raise RuntimeError("the sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Plain HTTP (the same port also answers HTTPS: see `https_url`)."""
        return f"http://{self._host}:{self.port}"

    @property
    def https_url(self) -> str:
        """What kubeconfigs name: kubectl sends a bearer token only over TLS."""
        return f"https://{self._host}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        """The certificate authority that signed the HTTPS certificate (PEM)."""
        return tls.bundle(self._host).ca_pem

    @property
    def metrics_url(self) -> str:
        """The unauthenticated Prometheus exposition of every pod (append `/NAMESPACE` for one namespace)."""
        return self.url + METRICS_PATH

    def start(self) -> Sandbox:
        """Build the cluster, start the simulation and the API; returns once the API answers."""
        self.simulation.populate()
        self.simulation.start()
        self._tls = tls.bundle(self._host)
        api = Api(self.simulation, self._token, self._stop, self.authz)
        self._server = SandboxHTTPServer((self._host, self._port), api, self._tls.server_context())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="sandbox-api", daemon=True)
        self._thread.start()
        conn = http.client.HTTPConnection(self._host, self.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            conn.getresponse().read()
        finally:
            conn.close()
        return self

    def stop(self) -> None:
        """Stop serving and cut open connections (idempotent); the sandbox cannot be started again."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._stopped_port = self.port
            self._server = None
        self.simulation.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def write_kubeconfig(self, path: Path | str, namespace: str = "default", token: str | None = None) -> Path:
        """A kubeconfig for kubectl and `kubernetes.config.load_kube_config` (mode 0600: it holds the token);
        `token`: one added with `add_token` (default: the admin token)."""
        return kubeconfig.write(Path(path), self.https_url, token or self._token, self.ca_pem, namespace)

    def add_token(self, token: str, rules: Iterable[Mapping[str, Any]] = (), *,
                  roles: Mapping[str, Iterable[Mapping[str, Any]]] | None = None, user: str = "tagent") -> None:
        """Accept `token` as user `user` with only what RBAC would give it: `rules` as a ClusterRole bound
        cluster-wide, `roles` (namespace -> rules) as Roles bound in their namespace. Requests beyond them
        get 403 and are recorded (`forbidden()`). ValueError on a malformed PolicyRule."""
        if token == self._token:
            raise ValueError("the admin token cannot be restricted; pick another token")
        self.authz.add(token, user, rules, roles)

    def forbidden(self, user: str | None = None) -> list[dict[str, str]]:
        """Every request refused with 403 so far (method, path, verb, group, resource, namespace, name)."""
        return [d.as_dict() for d in self.authz.denials(user)]

    def inject(self, fault: str, namespace: str, name: str, **params: float) -> dict[str, Any]:
        """Inject a fault into a Deployment or StatefulSet; raises ApiError (404, 422) on a bad request."""
        return self.simulation.inject(fault, namespace, name, dict(params)).as_dict()

    def trace(self, exporter: SpanExporter, traces_per_s: float = TRACES_PER_S, *, wall_time: bool = False) -> Tracing:
        """Send spans of the simulated requests to `exporter` from now on (`tracing.otlp_exporter(url, token)`
        for an OTLP receiver such as the engine's `/v1/traces`); replaces an earlier exporter. Spans carry
        sandbox time (an engine on `sb.clock.now`), or wall time with `wall_time` (an engine on its own clock)."""
        tracing = Tracing(exporter, traces_per_s=traces_per_s, seed=self._seed,
                          wall_clock=time.time if wall_time else None)
        with self.store.lock:
            previous, self.simulation.tracing = self.simulation.tracing, tracing
        if previous is not None:
            previous.shutdown()
        return tracing

    def faults(self) -> list[dict[str, Any]]:
        with self.store.lock:
            return [f.as_dict() for f in self.simulation.book.active()]
