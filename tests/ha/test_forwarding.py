"""A follower's API (docs/ha.md): two engines built by the composition root with leader election on one
sandbox and one PostgreSQL. The leader's app is served by uvicorn; the follower forwards mutating calls to it,
never twice, and answers 503 at once when the leader stopped renewing its Lease."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
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
TOKEN = "ha-forwarding-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _engine(tmp: Path, kubeconfig: Path, db_url: str, who: str) -> Engine:
    rules = tmp / "pack"
    if not rules.exists():
        for part in ("rules", "playbooks"):
            shutil.copytree(REPO / part, rules / part)
    return build_engine(Settings(data_dir=tmp / who, kubeconfig=kubeconfig, rules=str(rules),
                                 db_url=SecretStr(db_url), api_token=SecretStr(TOKEN), engine_id=who,
                                 leader_election=True, lease_name="tagent-forwarding", lease_duration=3.0,
                                 lease_renew_deadline=1.2, lease_retry_period=0.5))


@pytest.fixture
def pair(tmp_path: Path, kubeconfig: Path, postgres_url: str) -> Iterator[tuple[Engine, Engine]]:
    leader = _engine(tmp_path, kubeconfig, postgres_url, "leader")
    follower = _engine(tmp_path, kubeconfig, postgres_url, "follower")
    try:
        yield leader, follower
    finally:
        for engine in (leader, follower):
            engine.store.close()
            engine.kube.close()


def test_follower_forwards_to_the_leader_once_and_refuses_a_silent_one(pair: tuple[Engine, Engine]) -> None:
    leader, follower = pair
    assert leader.leader is not None and follower.leader is not None
    with serve(create_app(leader, settings=leader.settings)) as url:
        leader.leader.address = url  # what TAGENT_ADVERTISE_URL says in a pod
        assert leader.leader.try_acquire() and not follower.leader.try_acquire()
        with TestClient(create_app(follower, settings=follower.settings), raise_server_exceptions=False) as api:
            health = api.get("/api/v1/health").json()
            assert (health["role"], health["leader"], health["leader_address"]) == ("follower", "leader", url)
            answer = api.post("/api/v1/rules/reload", headers=AUTH)
            assert answer.status_code == 202 and answer.json() == {"queued": True}
            assert answer.headers["x-tagent-forwarded-to"] == "leader"
            assert api.post("/api/v1/rules/reload").status_code == 401  # the leader checks the token it got
            twice = api.post("/api/v1/rules/reload", headers={**AUTH, "X-Tagent-Forwarded": "elsewhere"})
            assert twice.status_code == 503 and "not forwarded twice" in twice.json()["detail"]
            assert api.get("/api/v1/incidents", headers=AUTH).status_code == 200  # reads stay local
            spans = api.post("/v1/traces", headers=AUTH, json={"resourceSpans": []})  # the leader writes spans
            assert spans.headers.get("x-tagent-forwarded-to") == "leader", (spans.status_code, spans.text)
            # the leader freezes: it stops renewing; past its renew deadline the follower does not wait on it
            time.sleep(leader.leader.timing.renew_deadline + leader.leader.timing.retry_period + 0.2)
            started = time.monotonic()
            silent = api.post("/api/v1/rules/reload", headers=AUTH)
            assert silent.status_code == 503 and silent.headers["retry-after"] == "2"
            assert silent.json()["detail"] == "not the leader; leader is leader, which stopped renewing its Lease"
            assert time.monotonic() - started < 1.0
    follower.leader.stop()
    leader.leader.stop()
