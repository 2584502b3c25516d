"""Issue 17's servers on the dashboard: GET /api/v1/cloud/servers answers from the engine's cloud source (a real
moto server behind it) with each server's recent CPU and price and the groups' bounds, and the Services page shows
them beside the workloads (Streamlit's AppTest against the engine API served by uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

import tagent.ui
from tagent.api.app import create_app
from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tests.api.server import serve
from tests.cloud.motoserver import REGION, MotoAws
from tests.cloud.test_engine_wiring import aws_engine, aws_settings, cloud_source  # noqa: F401  (fixture)

APP = Path(tagent.ui.__file__).resolve().parent / "app.py"


@pytest.fixture
def account(aws_engine: Engine, moto: MotoAws) -> Iterator[dict[str, str]]:  # noqa: F811
    web = moto.launch("web-1", instance_type="m5.large")
    idle = moto.launch("old-box")
    moto.stop(idle)
    moto.put_cpu(("InstanceId", web), [40.0, 42.0, 44.0])
    moto.group("web-asg", minimum=1, maximum=2, desired=2)
    cloud_source(aws_engine).poll_once()
    yield {"web": web, "idle": idle}


def test_the_servers_route_reads_the_cloud_source(aws_engine: Engine, account: dict[str, str]) -> None:  # noqa: F811
    with TestClient(create_app(aws_engine, settings=aws_engine.settings)) as client:
        got = client.get("/api/v1/cloud/servers")
    assert got.status_code == 200
    body = got.json()
    assert body["configured"] is True and body["regions"] == [REGION] and body["currency"] == "USD"
    servers = {s["id"]: s for s in body["servers"]}
    web, idle = servers[account["web"]], servers[account["idle"]]
    assert (web["name"], web["state"], web["type"], web["hourly_price"]) == ("web-1", "running", "m5.large", 0.096)
    assert web["cpu_percent"] == pytest.approx(42.0, abs=2.5)
    assert idle["state"] == "stopped" and idle["cpu_percent"] is None
    members = [s for s in body["servers"] if s["group"] == "web-asg"]
    assert len(members) == 2  # the group's own instances are listed with their group
    assert body["groups"] == [{"name": "web-asg", "region": REGION, "desired": 2, "min": 1, "max": 2, "members": 2,
                               "at_max": True, "tags": {}}]


def test_without_aws_the_route_says_not_configured(tmp_path: Path, kubeconfig: Path) -> None:
    built = build_engine(aws_settings(tmp_path, kubeconfig, None), source_interval=1.0)
    try:
        with TestClient(create_app(built, settings=built.settings)) as client:
            body = client.get("/api/v1/cloud/servers").json()
        assert body == {"configured": False, "regions": [], "currency": None, "servers": [], "groups": []}
    finally:
        built.store.close()
        built.kube.close()


def test_the_services_page_shows_the_servers_beside_the_workloads(
        aws_engine: Engine, account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    aws_engine.inventory.refresh()
    with serve(create_app(aws_engine, settings=aws_engine.settings)) as url:
        monkeypatch.setenv("TAGENT_API_URL", url)
        at = AppTest.from_file(str(APP), default_timeout=30)
        at.run()
        at.switch_page("views/services.py").run()
        assert not at.exception
        tables: list[pd.DataFrame] = [d.value for d in at.dataframe]
        servers = next(t for t in tables if "server" in t.columns)
        groups = next(t for t in tables if "group" in t.columns and "desired" in t.columns)
        workloads = next(t for t in tables if "service" in t.columns)
    assert "shop/frontend" in set(workloads["service"])  # the workloads are still there, above the servers
    row = servers[servers["id"] == account["web"]].iloc[0]
    assert row["server"] == "web-1" and row["state"] == "running" and row["USD/hour"] == 0.096
    assert abs(row["CPU % (15 min)"] - 42.0) <= 2.5
    assert list(groups["group"]) == ["web-asg"] and int(groups["max"].iloc[0]) == 2
    assert any(f"AWS {REGION}" in h.value for h in at.subheader)
