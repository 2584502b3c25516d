"""Real Prometheus and Alertmanager binaries (Debian packages) on free ports in tmp dirs, for tests.

Prometheus cannot listen on port 0 and report the port, so a free port is picked first; the tiny race
with another process is retried.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

PROMETHEUS = shutil.which("prometheus")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

needs_prometheus = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus binary not installed (make system-deps)")
needs_alertmanager = pytest.mark.skipif(
    PROMETHEUS is None or ALERTMANAGER is None, reason="prometheus/alertmanager not installed (make system-deps)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def exposition(registry: CollectorRegistry) -> Iterator[str]:
    """Serve `registry` in the Prometheus text format on a free port; yields host:port."""
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def _daemon(args_for_port: list[str], workdir: Path, name: str) -> Iterator[str]:
    for _attempt in range(3):
        port = free_port()
        args = [a.replace("{port}", str(port)) for a in args_for_port]
        log = workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url, proc, log)
        except RuntimeError:
            proc.kill()
            proc.wait()
            if "address already in use" in log.read_text(errors="replace"):
                continue
            raise
        try:
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    raise RuntimeError(f"{name}: no free port after 3 attempts")


@contextlib.contextmanager
def prometheus(
    workdir: Path,
    targets: list[str],
    rules: dict[str, object] | None = None,
    alertmanager: str | None = None,
    interval: str = "1s",
    metrics_path: str = "/metrics",
) -> Iterator[str]:
    """Run Prometheus scraping `targets` (host:port) every `interval`; yields its base URL."""
    assert PROMETHEUS is not None
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, object] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": "app", "metrics_path": metrics_path,
                            "static_configs": [{"targets": targets}]}],
    }
    if rules is not None:
        (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
        config["rule_files"] = [str(workdir / "rules.yml")]
    if alertmanager is not None:
        host = alertmanager.removeprefix("http://")
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    args = [PROMETHEUS, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
            "--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
    with _daemon(args, workdir, "prometheus") as url:
        yield url


@contextlib.contextmanager
def alertmanager(workdir: Path, webhook_url: str) -> Iterator[str]:
    """Run Alertmanager sending every alert to `webhook_url` without grouping delay; yields its base URL."""
    assert ALERTMANAGER is not None
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "route": {"receiver": "tagent", "group_by": ["alertname", "namespace"], "group_wait": "0s",
                  "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "tagent", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    args = [ALERTMANAGER, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'am-data'}",
            "--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
            "--log.level=warn"]
    with _daemon(args, workdir, "alertmanager") as url:
        yield url


def wait_for(predicate: object, timeout: float = 20.0, interval: float = 0.1) -> None:
    """Poll `predicate()` until it is truthy (raises AssertionError on timeout)."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
