"""Bad cluster settings stop the start in one line; a cluster that cannot be reached stops nothing else."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tagent.app.clusters import connect_clusters
from tagent.clients.kubernetes import KubeClient
from tagent.errors import ConfigError
from tagent.sandbox import Sandbox
from tagent.settings import ClusterSpec, Settings
from tests.e2e.helpers import REPO, sandbox_engine
from tests.fixtures.services import free_port
from tests.waiting import wait_for

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def run_tagent(tmp: Path, clusters: list[dict[str, str]], kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    env.update(TAGENT_DATA_DIR=str(tmp / "data"), TAGENT_CLUSTERS=json.dumps(clusters))
    return subprocess.run([sys.executable, "-m", "tagent", "run", "--kubeconfig", str(kubeconfig), "--rules", str(REPO),
                           "--port", "0"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp)


@pytest.fixture(scope="module")
def home_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a kubeconfig that parses is all `tagent run` needs before it refuses the clusters setting
    tmp = tmp_path_factory.mktemp("home")
    with Sandbox() as sb:
        return sb.write_kubeconfig(tmp / "home.kubeconfig")


@pytest.mark.parametrize("problem", ["missing kubeconfig", "missing context"])
def test_bad_clusters_setting_is_one_line_at_start(problem: str, home_kubeconfig: Path, tmp_path: Path) -> None:
    entries = {
        "missing kubeconfig": [{"name": "prod", "kubeconfig": str(tmp_path / "nope.yaml")}],
        "missing context": [{"name": "prod", "kubeconfig": str(home_kubeconfig), "context": "no-such-context"}],
    }[problem]
    done = run_tagent(tmp_path, entries, home_kubeconfig)
    assert done.returncode != 0
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "TAGENT_CLUSTERS: cluster 'prod'" in lines[0], lines[0]
    assert ("nope.yaml does not exist" if problem == "missing kubeconfig" else "no-such-context") in lines[0]
    assert not (tmp_path / "data" / "tagent.db").exists()  # refused before anything connected


@pytest.mark.parametrize("entries, message", [
    ([{"name": "default", "kubeconfig": "K"}], "has the home cluster's name"),
    ([{"name": "prod", "kubeconfig": "K"}, {"name": "prod", "kubeconfig": "K"}], "is named twice"),
    ([{"name": "prod", "kubeconfig": "/nonexistent"}], "kubeconfig /nonexistent does not exist"),
])
def test_clusters_that_cannot_work_are_refused(entries: list[dict[str, str]], message: str,
                                               home_kubeconfig: Path) -> None:
    entries = [{**e, "kubeconfig": e["kubeconfig"].replace("K", str(home_kubeconfig))} for e in entries]
    with pytest.raises(ConfigError, match=message) as info:
        connect_clusters(Settings(clusters=entries), KubeClient.from_kubeconfig(home_kubeconfig))  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="pattern"):
        ClusterSpec(name="Prod_1", kubeconfig=home_kubeconfig)


@pytest.mark.parametrize("sandbox", [{"speed": 30}], indirect=True)
def test_an_unreachable_cluster_stops_nothing_else(sandbox: Sandbox, tmp_path: Path, kube_api: client.ApiClient,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The remote cluster's API server is a closed port: the home cluster's crash loop is still fixed, the engine
    says once that the remote cluster is unreachable, and keeps probing it."""
    dead = tmp_path / "dead.kubeconfig"
    config = yaml.safe_load(sandbox.write_kubeconfig(tmp_path / "tmp.kubeconfig").read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    dead.write_text(yaml.safe_dump(config))
    caplog.set_level(logging.INFO, logger="tagent.clusters")
    engine = sandbox_engine(sandbox, tmp_path, clusters=[ClusterSpec(name="gone", kubeconfig=dead)])
    engine.start()
    try:
        sandbox.inject("crashloop", "shop", "cart")
        apps = client.AppsV1Api(kube_api)
        wait_for(lambda: (apps.read_namespaced_deployment("cart", "shop").spec.template.metadata.annotations or {})
                 .get(RESTARTED_AT), 45, "the home cluster's cart restarted")
        link = next(s for s in engine.sources if s.name == "cluster")
        wait_for(lambda: link.stats["unreachable"] >= 3, 20, "three probes of the unreachable cluster")
    finally:
        engine.stop()
        engine.store.close()
    said = [r.getMessage() for r in caplog.records if r.name == "tagent.clusters"]
    assert len(said) == 1 and said[0].startswith("cluster gone unreachable:"), said
    assert "\n" not in said[0]
    assert engine.store.inventory.list(cluster="gone") == []
    assert {i.target.cluster for i in engine.store.incidents.list()} == {""}
