"""A real Prometheus scrapes the sandbox and answers PromQL about a workload's 5xx rate."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tagent.sandbox import Sandbox
from tests.sandbox.helpers import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(sandbox: Sandbox, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run `make system-deps` (Debian package prometheus)")
    target = urlsplit(sandbox.url).netloc
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""\
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: sandbox
    metrics_path: {sandbox.metrics_path}
    static_configs: [{{targets: ["{target}"]}}]
""")
    port = _free_port()
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        def ready() -> bool:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "prometheus exited"
            try:
                return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=30, what="prometheus to be ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _query(url: str, promql: str) -> dict[tuple[str, str], float]:
    body = httpx.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert body["status"] == "success", body
    return {(r["metric"].get("namespace", ""), r["metric"].get("deployment", "")): float(r["value"][1])
            for r in body["data"]["result"]}


@pytest.mark.parametrize("sandbox", [{"speed": 5}], indirect=True)
def test_promql_5xx_rate_of_a_workload_after_an_error_spike(sandbox: Sandbox, prometheus: str) -> None:
    errors = 'sum by (namespace, deployment) (rate(http_requests_total{code=~"5.."}[3s]))'
    total = 'sum by (namespace, deployment) (rate(http_requests_total[3s]))'
    wait_for(lambda: _query(prometheus, total).get(("shop", "frontend"), 0) > 0, timeout=30,
             what="request rates from the scrape")
    assert _query(prometheus, errors).get(("shop", "checkout"), 0.0) == 0.0
    # speed 5: checkout's 2 pods x 6 rps each are ~60 requests per wall second (a busy machine may need a
    # few scrapes before the 3s window holds only steady traffic)
    wait_for(lambda: 30 < _query(prometheus, total).get(("shop", "checkout"), 0.0) < 100, timeout=20,
             what="checkout's request rate near 60/s")

    sandbox.inject("error-spike", "shop", "checkout", rate=0.5)
    rates = wait_for(lambda: (r := _query(prometheus, errors)).get(("shop", "checkout"), 0) > 10 and r,
                     timeout=30, what="a 5xx rate for checkout")
    assert set(rates) == {("shop", "checkout")}  # nobody else fails
    wait_for(lambda: 0.3 < _query(prometheus, f"{errors} / {total}").get(("shop", "checkout"), 0) < 0.7,
             timeout=30, what="an error ratio near 0.5")

    memory = _query(prometheus, 'sum by (namespace, deployment) (container_memory_working_set_bytes)')
    assert 300 * 2**20 < memory[("shop", "payment-service")] < 1200 * 2**20
    cpu = _query(prometheus, 'sum by (namespace, deployment) (rate(container_cpu_usage_seconds_total[3s]))')
    assert cpu[("shop", "payment-service")] > cpu[("shop", "cart")] > 0
    median = _query(prometheus, 'histogram_quantile(0.5, sum by (namespace, deployment, le) '
                                '(rate(http_request_duration_seconds_bucket[3s])))')
    assert 0.025 < median[("shop", "frontend")] < 0.06  # frontend's median latency is 35ms
    assert median[("shop", "cart")] < 0.025  # cart's is 8ms
