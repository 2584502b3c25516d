"""Two sandbox clusters (two emulator servers on two ports, two kubeconfigs, the same shop in both) and an engine
watching both: "east" is its home cluster, "west" a remote one (TAGENT_CLUSTERS)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.sandbox import Sandbox
from tagent.settings import ClusterSpec, Settings
from tagent.store import Store
from tests.e2e.helpers import REPO

SPEED = 30.0


@dataclass
class Cluster:
    name: str
    sandbox: Sandbox
    kubeconfig: Path
    apps: client.AppsV1Api


@pytest.fixture
def two_clusters(tmp_path: Path) -> Iterator[tuple[Cluster, Cluster]]:
    with Sandbox(speed=SPEED) as east, Sandbox(speed=SPEED) as west:
        out = []
        apis = []
        for name, sb in (("east", east), ("west", west)):
            kubeconfig = sb.write_kubeconfig(tmp_path / f"{name}.kubeconfig")
            api = config.new_client_from_config(config_file=str(kubeconfig))  # the official client, from outside
            apis.append(api)
            out.append(Cluster(name, sb, kubeconfig, client.AppsV1Api(api)))
        try:
            yield out[0], out[1]
        finally:
            for api in apis:
                api.close()


def two_cluster_engine(east: Cluster, west: Cluster, tmp: Path, *, home: str = "east", remote: str = "west",
                       **settings: object) -> Engine:
    """An engine at home in `east` that also watches `west`, with the default rules and a SQLite store."""
    config_ = Settings(rules=str(REPO), kubeconfig=east.kubeconfig, data_dir=tmp / "data", cluster_name=home,
                       metrics_scrape_url=east.sandbox.metrics_url, metrics_interval=1.0,
                       clusters=[ClusterSpec(name=remote, kubeconfig=west.kubeconfig,
                                             metrics_scrape_url=west.sandbox.metrics_url)], **settings)
    store = Store.open(f"sqlite:///{tmp / 'tagent.db'}")
    return build_engine(config_, store=store, clock=east.sandbox.clock.now, source_interval=0.5)
