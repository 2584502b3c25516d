"""Run the demo: sandbox + local receivers + engine + API (+ dashboard), then play the scripted night. The
sandbox's services send their spans to the engine's OTLP receiver, so every shop service has latency, error
and trace panels without Prometheus."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn

from tagent.api.app import create_app
from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.clients.kubernetes import KubeClient
from tagent.demo.night import night_start
from tagent.demo.script import NIGHT, Scene
from tagent.demo.summary import Played, incident_summary
from tagent.demo.traces import otlp_endpoint, traces_summary
from tagent.errors import ConfigError
from tagent.model import Incident, IncidentStatus, utcnow
from tagent.sandbox import Sandbox
from tagent.sandbox.receivers import LocalReceivers
from tagent.sandbox.tracing import otlp_exporter
from tagent.settings import Settings
from tagent.ui import launch

log = logging.getLogger("tagent.demo")
DONE = tuple(s for s in IncidentStatus if s.closed)  # resolved, failed, superseded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class DemoOptions:
    rules: Path
    data_dir: Path
    speed: float = 60.0
    seconds: float = 240.0
    dashboard: bool = True
    api_port: int = 0
    dashboard_port: int = 8501
    scenes: tuple[Scene, ...] = NIGHT
    quiet_s: float = 5.0  # wall seconds with every incident closed before the night counts as over


@dataclass
class Demo:
    options: DemoOptions
    say: Callable[[str], None] = print
    played: list[Played] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sandbox: Sandbox | None = None
        self.receivers: LocalReceivers | None = None
        self.engine: Engine | None = None
        self._server: uvicorn.Server | None = None
        self._dashboard: subprocess.Popen[bytes] | None = None
        self._dashboard_log: IO[bytes] | None = None
        self.api_url = ""
        self.dashboard_url = ""

    def start(self) -> None:
        opts = self.options
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        self.sandbox = Sandbox(speed=opts.speed, start=night_start(utcnow())).start()
        self._evening_deploy("shop", "frontend", "node:20.11")
        kubeconfig = self.sandbox.write_kubeconfig(opts.data_dir / "sandbox.kubeconfig")
        self.receivers = LocalReceivers().start()
        port = opts.api_port or free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        dashboard_port = opts.dashboard_port
        if opts.dashboard and launch.port_in_use("127.0.0.1", dashboard_port):
            dashboard_port = launch.free_port()  # another dashboard holds it: the printed URL names this one
        self.dashboard_url = f"http://127.0.0.1:{dashboard_port}"
        settings = Settings(
            data_dir=opts.data_dir, rules=str(opts.rules), kubeconfig=kubeconfig, api_port=port,
            public_url=self.api_url, dashboard_url=self.dashboard_url, metrics_scrape_url=self.sandbox.metrics_url,
            **self.receivers.settings_overrides())
        kube = KubeClient.from_kubeconfig(kubeconfig)
        self.engine = build_engine(settings, kube=kube, clock=self.sandbox.clock.now, source_interval=1.0)
        config = uvicorn.Config(create_app(self.engine, settings=settings), host="127.0.0.1", port=port,
                                log_level="warning")
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, name="tagent-demo-api", daemon=True).start()
        self.engine.start()
        token = settings.webhook_token or settings.api_token  # the OTLP receiver's (open when neither is set)
        self.sandbox.trace(otlp_exporter(otlp_endpoint(self.api_url), token.get_secret_value() if token else None))
        if opts.dashboard:
            self._start_dashboard(dashboard_port)

    def _start_dashboard(self, port: int, timeout: float = 90.0) -> None:
        """`tagent dashboard` as a child that dies with this process; returns once it answers (ConfigError
        with its log's last line when it exits first), so the URL printed next is a live one."""
        log_path = self.options.data_dir / "dashboard.log"
        self._dashboard_log = log_path.open("wb")
        self._dashboard = launch.spawn([sys.executable, "-m", "tagent", "dashboard", "--api", self.api_url,
                                        "--port", str(port)], output=self._dashboard_log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._dashboard.poll() is not None:
                lines = log_path.read_text(errors="replace").strip().splitlines() or ["(no output)"]
                raise ConfigError(f"the dashboard exited with code {self._dashboard.returncode}: {lines[-1]}")
            try:
                if httpx.get(f"{self.dashboard_url}/_stcore/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ConfigError(f"the dashboard did not answer on {self.dashboard_url} within {timeout:g}s "
                          f"(its log: {log_path})")

    def _evening_deploy(self, namespace: str, name: str, image: str) -> None:
        """A good release earlier in the evening (what `kubectl set image` does), so the night's rollback
        has a version to go back to."""
        assert self.sandbox is not None
        patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}]
        response = httpx.patch(
            f"{self.sandbox.url}/apis/apps/v1/namespaces/{namespace}/deployments/{name}", json=patch,
            headers={"Authorization": f"Bearer {self.sandbox.token}",
                     "Content-Type": "application/json-patch+json"}, timeout=10)
        response.raise_for_status()

    def play(self) -> dict[str, Any]:
        """Inject each scene's fault at its time, wait until every incident is over (or time is up)."""
        assert self.sandbox is not None and self.engine is not None
        began = time.monotonic()
        pending = sorted(self.options.scenes, key=lambda s: s.at_s)
        quiet_since: float | None = None
        while time.monotonic() - began < self.options.seconds:
            elapsed = time.monotonic() - began
            while pending and pending[0].at_s <= elapsed:
                scene = pending.pop(0)
                self.sandbox.inject(scene.fault, scene.namespace, scene.name)
                self.played.append(Played(scene, self.sandbox.clock.now()))
                self.say(f"[{elapsed:5.1f}s] {scene.fault} on {scene.namespace}/{scene.name}: {scene.story}")
            if pending or not self._all_done():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= self.options.quiet_s:
                break  # every scene's incidents stayed closed for a while: the night is over
            time.sleep(0.25)
        wall = time.monotonic() - began
        if not self.options.dashboard:  # headless: the night is over; stop matching so the summary is final
            self.engine.stop()
        return self.summary(wall)

    def _all_done(self) -> bool:
        assert self.engine is not None
        incidents = self.engine.store.incidents.list(limit=500)
        for p in self.played:
            if not p.scene.rules:  # a scene that only changes the world (the traffic peak passes)
                continue
            mine = [i for i in incidents if i.rule in p.scene.rules and i.target.name == p.scene.name
                    and i.target.namespace == p.scene.namespace]
            if not mine or any(i.status not in DONE for i in mine):
                return False
        return True

    def summary(self, wall_s: float) -> dict[str, Any]:
        assert self.engine is not None and self.receivers is not None and self.sandbox is not None
        store = self.engine.store
        incidents: list[Incident] = [store.incidents.get(i.id) or i for i in store.incidents.list(limit=500)]
        by_target = {(p.scene.namespace, p.scene.name, rule): p for p in self.played for rule in p.scene.rules}
        rows = [incident_summary(i, by_target.get((i.target.namespace, i.target.name, i.rule)),
                                 self.options.speed) for i in incidents if i is not None]
        rows.sort(key=lambda r: (r["sandbox_detected_after_s"] is None, r["id"]))
        return {
            "speed": self.options.speed,
            "wall_seconds": round(wall_s, 1),
            "incidents": rows,
            "all_as_expected": all(any(r["as_expected"] and r["target"] == f"{p.scene.namespace}/{p.scene.name}"
                                       for r in rows) for p in self.played if p.scene.rules),
            "postmortems": len(store.postmortems.search(limit=500)),
            "replica_hours_saved": round(store.savings.total_replica_hours(self.sandbox.clock.now()), 2),
            "traces": self._traces(incidents),
            "receivers": self.receivers.report(),
            "api": self.api_url,
            "dashboard": self.dashboard_url if self._dashboard else None,
        }

    def _traces(self, incidents: list[Incident]) -> dict[str, Any] | None:
        """RED per shop service and the error spikes as the spans showed them (no Prometheus in the demo)."""
        assert self.engine is not None and self.sandbox is not None
        if self.engine.traces is None:
            return None
        shop = [f"{w.namespace}/{w.name}" for w in self.sandbox.scenario.spec.workloads if w.namespace == "shop"]
        return traces_summary(self.engine.traces, self.played, incidents, shop, self.sandbox.clock.now())

    def stop(self) -> None:
        if self._dashboard is not None:
            launch.stop(self._dashboard)
            self._dashboard = None
        if self._dashboard_log is not None:
            self._dashboard_log.close()
        if self.engine is not None:
            self.engine.stop()  # idempotent: the headless night already stopped it
        if self.sandbox is not None:
            self.sandbox.stop()  # before the API: its last spans still find the receiver
        if self._server is not None:
            self._server.should_exit = True
        if self.receivers is not None:
            self.receivers.stop()
