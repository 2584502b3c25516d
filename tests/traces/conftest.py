"""Traces tests: a real engine (build_engine on the in-process sandbox) served by uvicorn on 127.0.0.1, shared by
the package; span stores on SQLite and PostgreSQL; helpers that build OTLP requests with known spans."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.sandbox import Sandbox
from tagent.settings import Settings
from tagent.store import Store
from tagent.store.repos.traces import Spans
from tagent.traces.service import Traces
from tagent.traces.writer import SpanWriter
from tests.api.server import serve
from tests.fixtures.services import PostgresServer

REPO = Path(__file__).resolve().parents[2]
API_TOKEN = "api-token-for-traces-tests"
WEBHOOK_TOKEN = "webhook-token-for-traces-tests"
MAX_BODY = 64 * 1024
MAX_DECOMPRESSED = 256 * 1024


@dataclass
class Served:
    engine: Engine
    url: str
    settings: Settings

    @property
    def otlp(self) -> str:
        return f"{self.url}/v1/traces"

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}

    def webhook_headers(self, content_type: str = "application/x-protobuf") -> dict[str, str]:
        return {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": content_type}


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The engine API with small OTLP limits (64 KiB as sent, 256 KiB decompressed), shared by the tests that
    use it (they are in the xdist group "traces-engine", so one worker builds it once)."""
    tmp = tmp_path_factory.mktemp("traces-engine")
    for part in ("rules", "playbooks"):
        shutil.copytree(REPO / part, tmp / "pack" / part)
    sandbox = Sandbox()
    sandbox.start()
    settings = Settings(data_dir=tmp / "data", kubeconfig=sandbox.write_kubeconfig(tmp / "kubeconfig"),
                        rules=str(tmp / "pack"), api_token=SecretStr(API_TOKEN),
                        webhook_token=SecretStr(WEBHOOK_TOKEN), traces_max_body_bytes=MAX_BODY,
                        traces_max_decompressed_bytes=MAX_DECOMPRESSED)
    engine = build_engine(settings)
    engine.start(sources=False)
    try:
        with serve(create_app(engine, settings=settings)) as url:
            yield Served(engine, url, settings)
    finally:
        engine.stop(timeout=5)
        engine.store.close()
        engine.kube.close()
        sandbox.stop()


@pytest.fixture(scope="module")
def traces_postgres_url(postgres_server: PostgresServer) -> str:
    url = postgres_server.create_database()
    Store.open(url).close()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store with no spans, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tagent.db'}"
    else:
        url = str(request.getfixturevalue("traces_postgres_url"))
    s = Store.open(url)
    if request.param == "postgresql":
        with s.db.write_core() as conn:
            conn.exec_driver_sql("TRUNCATE spans, span_resources")
    try:
        yield s
    finally:
        s.close()


MakeTraces = Callable[..., Traces]
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_traces() -> Iterator[MakeTraces]:
    """`make_traces(store, clock=..., **writer knobs)`: the traces facade over a store with its span writer;
    every writer it made is stopped after the test (a writer left running keeps sweeping a database that is
    gone by the end of the session)."""
    made: list[Traces] = []

    def make(store: Store, clock: Callable[[], datetime] = lambda: NOW, **writer: Any) -> Traces:
        spans = Spans(store.db)
        traces = Traces(spans, SpanWriter(spans, clock=clock, **writer), clock=clock)
        made.append(traces)
        return traces

    yield make
    for traces in made:
        traces.stop()


@pytest.fixture
def rnd(request: pytest.FixtureRequest) -> random.Random:
    """Seeded per test: ids differ between the tests that share one engine, and a run repeats exactly."""
    return random.Random(request.node.nodeid)
