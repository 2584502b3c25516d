"""The engine starts with exactly what the chart gives its pod, and answers the chart's probes.

No container runtime here, so the pod is played by a process: the rendered container's args and environment,
the API token read from the Secret the chart renders (as the kubelet resolves a secretKeyRef), the rules pack
laid out as the kubelet mounts the ConfigMap. Only what a pod gets from its node is substituted: the
in-cluster Kubernetes config (a sandbox kubeconfig instead), the mount paths (temporary directories) and the
port (a free one). It listens on the rendered 0.0.0.0 and is only ever called on 127.0.0.1.
"""

from __future__ import annotations

import base64
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chart.render import RELEASE, Rendered, render
from tests.chart.test_rules_pack import project
from tests.chart.value_sets import VALUE_SETS
from tests.fixtures.services import free_port
from tests.waiting import wait_for

TAGENT = Path(sys.executable).with_name("tagent")


def pod_environment(rendered: Rendered, *, data: Path, pack: Path, kubeconfig: Path, port: int) -> dict[str, str]:
    secret = rendered.get("Secret", f"{RELEASE}-api")
    env: dict[str, str] = {"PATH": os.environ["PATH"]}
    for name, entry in rendered.env("engine").items():
        if "value" in entry:
            env[name] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == secret["metadata"]["name"], f"{name} needs a Secret this test does not have"
            env[name] = base64.b64decode(secret["data"][ref["key"]]).decode()
    mounts = {m["mountPath"] for m in rendered.container("engine")["volumeMounts"]}
    assert env["TAGENT_DATA_DIR"] in mounts and env["HOME"] in mounts and env["TAGENT_RULES"] in mounts
    env.update(TAGENT_DATA_DIR=str(data), TAGENT_RULES=str(pack), HOME=str(data), TAGENT_API_PORT=str(port),
               TAGENT_KUBECONFIG=str(kubeconfig))
    return env


@pytest.fixture
def engine_pod(request: pytest.FixtureRequest, kubeconfig: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, API token) of `tagent` started as the chart's engine container for the value set `param`."""
    rendered = render(VALUE_SETS[request.param])
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    env = pod_environment(rendered, data=data, pack=project(rendered, tmp_path / "pack"), kubeconfig=kubeconfig,
                          port=port)
    args = rendered.container("engine")["args"]
    assert args[:2] == ["run", "--port"]
    log = (tmp_path / "engine.log").open("wb")
    proc = subprocess.Popen([str(TAGENT), *args[:2], str(port), *args[3:]], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}", env["TAGENT_API_TOKEN"]
        assert proc.poll() is None, (tmp_path / "engine.log").read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def _probe(rendered: Rendered, kind: str) -> str:
    path: str = rendered.container("engine")[kind]["httpGet"]["path"]
    return path


@pytest.mark.parametrize("engine_pod", ["default", "read-only"], indirect=True)
def test_engine_starts_with_the_chart_configuration(engine_pod: tuple[str, str]) -> None:
    url, token = engine_pod
    rendered = render()
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = f"{url}{_probe(rendered, kind)}"
        wait_for(functools.partial(_ok, probe), 60, f"{kind} {probe} answering 200")
    # the API is closed without the token and open with the one from the chart's Secret
    assert httpx.get(f"{url}/api/v1/incidents", timeout=10).status_code == 401
    answer = httpx.get(f"{url}/api/v1/incidents", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200 and answer.json() == []


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
