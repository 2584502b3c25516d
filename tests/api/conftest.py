"""A real Engine on the sandbox cluster, and its API (FastAPI TestClient, or uvicorn on a free port).

- `rules_dir`: a private copy of the repository's rules pack (rules/ + playbooks/), so a test may break it.
- `engine_settings`: Settings for the sandbox: tmp data dir, that rules copy, API/webhook tokens, Twilio
  auth token and a public URL (what Twilio signs).
- `engine`: `build_engine(settings)` with SQLite under tmp_path, started (sources every second), stopped after.
- `api`: a TestClient that sends the API token; `anon`: one that sends none.
- `api_url`: the same app served by uvicorn on a free port (for the dashboard tests).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.settings import Settings
from tests.api.server import serve

REPO = Path(__file__).resolve().parents[2]
API_TOKEN = "api-token-for-tests"
WEBHOOK_TOKEN = "webhook-token-for-tests"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
PUBLIC_URL = "https://tagent.example.test"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    root = tmp_path / "rules-pack"
    for part in ("rules", "playbooks"):
        shutil.copytree(REPO / part, root / part)
    return root


@pytest.fixture
def engine_settings(tmp_path: Path, kubeconfig: Path, rules_dir: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", kubeconfig=kubeconfig, rules=str(rules_dir),
                    metrics_interval=1.0, api_token=SecretStr(API_TOKEN), webhook_token=SecretStr(WEBHOOK_TOKEN),
                    twilio_auth_token=SecretStr(TWILIO_TOKEN), public_url=PUBLIC_URL)


@pytest.fixture
def engine(engine_settings: Settings) -> Iterator[Engine]:
    built = build_engine(engine_settings, source_interval=1.0)
    built.start()
    try:
        yield built
    finally:
        built.stop(timeout=5)
        built.store.close()
        built.kube.close()


@pytest.fixture
def api(engine: Engine, engine_settings: Settings) -> Iterator[TestClient]:
    app = create_app(engine, settings=engine_settings)
    with TestClient(app, headers={"Authorization": f"Bearer {API_TOKEN}"},
                    raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def anon(engine: Engine, engine_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(engine, settings=engine_settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api_url(engine: Engine, engine_settings: Settings) -> Iterator[str]:
    with serve(create_app(engine, settings=engine_settings)) as url:
        yield url


def wait_for(check: Callable[[], object], timeout: float = 20.0, interval: float = 0.1) -> object:
    """Poll `check` until it returns something truthy; fail with the last value after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
        value = check()
    return value
