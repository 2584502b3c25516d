"""The dashboard with two clusters: the sidebar offers them, and picking one shows that cluster's incidents
only, each naming its cluster (Streamlit's AppTest on the packaged app, against a real engine API)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

import tagent.ui
from tagent.api.app import create_app
from tagent.model import Incident, WorkloadRef
from tests.api.server import serve
from tests.multicluster.conftest import Cluster, two_cluster_engine

APP = Path(tagent.ui.__file__).resolve().parent / "app.py"
TOKEN = "dashboard-token-for-two-clusters"


def test_the_sidebar_picks_a_cluster(two_clusters: tuple[Cluster, Cluster], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    east, west = two_clusters
    engine = two_cluster_engine(east, west, tmp_path, api_token=SecretStr(TOKEN))
    for cluster, name in (("", "cart"), ("west", "cart"), ("west", "checkout")):
        target = WorkloadRef(namespace="shop", name=name, cluster=cluster)
        engine.store.incidents.open(Incident(fingerprint=f"crashloop-restart/{target.key}", rule="crashloop-restart",
                                             target=target))
    try:
        with serve(create_app(engine, settings=engine.settings)) as url:
            monkeypatch.setenv("TAGENT_API_URL", url)
            monkeypatch.setenv("TAGENT_API_TOKEN", TOKEN)
            at = AppTest.from_file(str(APP), default_timeout=30)
            at.run()
            at.switch_page("views/incidents.py").run()
            picker = at.sidebar.selectbox(key="cluster")
            assert picker.options == ["All clusters", "east", "west"]
            assert sorted(at.dataframe[0].value["target"]) == ["shop/cart", "shop/cart (west)",
                                                               "shop/checkout (west)"]
            picker.set_value("west").run()
            assert sorted(at.dataframe[0].value["target"]) == ["shop/cart (west)", "shop/checkout (west)"]
            at.sidebar.selectbox(key="cluster").set_value("east").run()
            assert list(at.dataframe[0].value["target"]) == ["shop/cart"]
            assert not at.exception
    finally:
        engine.store.close()
