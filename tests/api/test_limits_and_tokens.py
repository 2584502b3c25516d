"""Issue 14's webhook faults: an unset TAGENT_WEBHOOK_TOKEN left the webhook open while the API had a token;
an API beyond loopback may not run without a token; bodies too deep (100,000 nested `[`) or too large get
400/413 from a real `tagent run` process, which keeps serving afterwards."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.api.app import create_app, is_loopback
from tagent.api.limits import MAX_BODY_BYTES, json_depth_exceeds
from tagent.app.engine import Engine
from tagent.settings import Settings
from tests.api.conftest import API_TOKEN, REPO, WEBHOOK_TOKEN
from tests.waiting import wait_for

ALERTS = "/api/alerts/alertmanager"
EMPTY = {"version": "4", "status": "firing", "alerts": []}
NESTED = b"[" * 100_000 + b"]" * 100_000


def test_webhook_takes_the_api_token_when_it_has_none_of_its_own(engine: Engine,
                                                                  engine_settings: Settings) -> None:
    settings = engine_settings.model_copy(update={"webhook_token": None})
    with TestClient(create_app(engine, settings=settings), raise_server_exceptions=False) as anon:
        refused = anon.post(ALERTS, json=EMPTY)
        assert refused.status_code == 401
        assert refused.json() == {"detail": "missing or wrong bearer token for tagent-webhooks"}
        assert anon.post(ALERTS, json=EMPTY, headers={"Authorization": "Bearer guess"}).status_code == 401
        ok = anon.post(ALERTS, json=EMPTY, headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"accepted": 0}


def test_loopback_addresses() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.7", "tagent.example.test", ""))


def test_no_token_beyond_loopback_is_refused(engine: Engine, engine_settings: Settings) -> None:
    from tagent.errors import ConfigError

    open_wide = engine_settings.model_copy(update={"api_token": None, "webhook_token": None, "api_host": "0.0.0.0"})
    with pytest.raises(ConfigError, match="beyond loopback, without a token"):
        create_app(engine, settings=open_wide)
    create_app(engine, settings=open_wide.model_copy(update={"api_host": "127.0.0.1"}))  # a laptop: allowed
    create_app(engine, settings=open_wide.model_copy(update={"api_token": SecretStr("t")}))


def test_depth_scan_skips_strings_and_stops_early() -> None:
    assert json_depth_exceeds(NESTED, 32)
    assert not json_depth_exceeds(b'{"a": [[1, {"b": "[[[[[[[[[[[[[["}]]}', 4)
    assert json_depth_exceeds(b'{"a": [[1, {"b": "x"}]]}', 3)
    assert not json_depth_exceeds(b'{"q": "\\"[[[[[[\\" ]"}', 1)  # escaped quotes stay inside the string


def _clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    env.update(TAGENT_DATA_DIR=str(tmp / "data"), **extra)
    return env


@pytest.fixture
def engine_process(tmp_path: Path, kubeconfig: Path) -> Iterator[str]:
    """`tagent run` as its own process on a free port, with both tokens; yields its base URL."""
    env = _clean_env(tmp_path, TAGENT_API_TOKEN=API_TOKEN, TAGENT_WEBHOOK_TOKEN=WEBHOOK_TOKEN)
    out = tmp_path / "run.log"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "tagent", "run", "--kubeconfig", str(kubeconfig),
                                 "--rules", str(REPO), "--port", "0"], env=env, stdout=sink,
                                stderr=subprocess.STDOUT, cwd=tmp_path)

    def port() -> str | None:
        assert proc.poll() is None, out.read_text()[-3000:]
        found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", out.read_text())
        return found.group(1) if found else None

    try:
        yield f"http://127.0.0.1:{wait_for(port, 60, 'tagent run listening')}"
    finally:
        proc.terminate()
        proc.wait(30)
        log = out.read_text()
        assert "RecursionError" not in log and "Traceback" not in log, log[-3000:]


def test_deep_and_huge_bodies_get_400_and_413_from_a_real_server(engine_process: str) -> None:
    hook = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}
    api = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=engine_process, timeout=30) as http:
        deep = http.post(ALERTS, content=NESTED, headers=hook)
        assert deep.status_code == 400, deep.text
        assert deep.json() == {"detail": "the body nests deeper than 32 levels"}
        as_text = http.post(ALERTS, content=NESTED, headers={**hook, "Content-Type": "text/plain"})
        assert as_text.status_code == 400  # the route parses whatever it gets, so every body is scanned
        assert http.post("/api/v1/chat", content=NESTED, headers=api).status_code == 400
        assert http.post(ALERTS, content=NESTED).status_code == 400  # before auth: nothing is parsed

        huge = http.post(ALERTS, content=b" " * (MAX_BODY_BYTES + 1), headers=hook)
        assert huge.status_code == 413
        assert huge.json() == {"detail": f"the body is larger than {MAX_BODY_BYTES} bytes"}

        def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the stream passes the limit
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                yield b" " * 65536

        assert http.post(ALERTS, content=chunks(), headers=hook).status_code == 413

    with httpx.Client(base_url=engine_process, timeout=30) as http:  # still serving, still parsing
        ok = http.post(ALERTS, json=EMPTY, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"accepted": 0}
        assert http.post(ALERTS, content=b"{nope", headers=hook).status_code == 400
        counted = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                   for line in http.get("/metrics").text.splitlines() if line.startswith("tagent_bad_input_total{")}
        assert counted['source="alertmanager"'] == 6  # 3 deep, 2 huge, 1 not JSON
        assert counted['source="api"'] == 1


def test_tagent_run_beyond_loopback_without_a_token_refuses_to_start(tmp_path: Path, kubeconfig: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tagent", "run", "--kubeconfig", str(kubeconfig),
                           "--rules", str(REPO), "--host", "0.0.0.0", "--port", "0"],
                          env=_clean_env(tmp_path), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        "error: the API listens on 0.0.0.0, beyond loopback, without a token: set TAGENT_API_TOKEN "
        "(and TAGENT_WEBHOOK_TOKEN for Alertmanager), or listen on 127.0.0.1")
    assert "Traceback" not in done.stderr and "Uvicorn running" not in done.stderr
