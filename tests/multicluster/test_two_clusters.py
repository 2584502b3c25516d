"""Issue 18, many clusters: one engine watches two sandbox clusters at once; faults in both are fixed in the right
cluster and nothing crosses over (checked with the official client against each cluster's API server).

east (home): cart crash-loops.  west (remote): cart crash-loops too (the same rule on a workload of the same
name: east's cooldown must not hold it back) and checkout gets a bad image (rolled back). east's checkout is
never touched; west's records say "west", east's say "" (the home cluster)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from kubernetes import client

from tagent.api.app import create_app
from tagent.model import IncidentStatus
from tagent.sandbox.receivers.webhook import WebhookReceiver
from tests.multicluster.conftest import Cluster, two_cluster_engine
from tests.waiting import wait_for

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def restarted(apps: client.AppsV1Api, name: str) -> str | None:
    d = apps.read_namespaced_deployment(name, "shop")
    return (d.spec.template.metadata.annotations or {}).get(RESTARTED_AT)


def image(apps: client.AppsV1Api, name: str) -> str:
    return str(apps.read_namespaced_deployment(name, "shop").spec.template.spec.containers[0].image)


def test_faults_in_two_clusters_are_fixed_each_in_its_own(two_clusters: tuple[Cluster, Cluster],
                                                          tmp_path: Path) -> None:
    east, west = two_clusters
    good = {c.name: image(c.apps, "checkout") for c in (east, west)}
    hooks = WebhookReceiver().start()
    engine = two_cluster_engine(east, west, tmp_path, notify_min_interval=0,
                                notify_urls={"slack-oncall": hooks.json_url("/slack"),
                                             "teams-sre": hooks.json_url("/teams")})
    engine.start()
    try:
        wait_for(lambda: {w.ref.cluster for w in engine.store.inventory.list()} == {"", "west"}, 30,
                 "both clusters' inventories")
        east.sandbox.inject("crashloop", "shop", "cart")
        west.sandbox.inject("crashloop", "shop", "cart")
        west.sandbox.inject("bad-image", "shop", "checkout")
        assert image(west.apps, "checkout") != good["west"]

        wait_for(lambda: restarted(east.apps, "cart"), 45, "east's cart restarted")
        wait_for(lambda: restarted(west.apps, "cart"), 45, "west's cart restarted (east's cooldown is east's)")
        wait_for(lambda: image(west.apps, "checkout") == good["west"], 45, "west's checkout rolled back")

        told = wait_for(lambda: [m for m in hooks.messages() if "Rolled back shop/checkout" in m.text], 30,
                        "the rollback's notification")
        assert all("Cluster: west" in m.text for m in told), [m.text for m in told]

        # nothing crossed over: east's checkout was neither rolled back nor restarted
        assert image(east.apps, "checkout") == good["east"]
        assert restarted(east.apps, "checkout") is None
        assert restarted(west.apps, "checkout") is None

        incidents = engine.store.incidents.list(limit=100)
        per = sorted((i.rule, i.target.cluster, i.target.name) for i in incidents)
        assert per == [("crashloop-restart", "", "cart"), ("crashloop-restart", "west", "cart"),
                       ("image-pull-rollback", "west", "checkout")], per
        assert all(i.status != IncidentStatus.superseded for i in incidents)
        west_only = engine.store.incidents.list(cluster="west")
        assert {i.target.name for i in west_only} == {"cart", "checkout"}
        assert all(str(i.target).endswith(" in west") for i in west_only)

        audit = engine.store.audit.list(limit=100)
        by_cluster = {(a.cluster, a.action, a.target_key) for a in audit if not a.dry_run}
        assert ("", "kubernetes.rollout_restart", "Deployment/shop/cart") in by_cluster
        assert ("west", "kubernetes.rollout_restart", "west:Deployment/shop/cart") in by_cluster
        assert ("west", "kubernetes.rollout_undo", "west:Deployment/shop/checkout") in by_cluster
        assert not any(a.cluster == "" and "checkout" in a.target_key for a in audit)
        events = engine.store.events.list(limit=1000, cluster="west", kind="PodState")
        assert events and all(e.target.cluster == "west" for e in events)

        api = TestClient(create_app(engine, settings=engine.settings), raise_server_exceptions=False)
        listed = api.get("/api/v1/clusters").json()
        assert [(c["name"], c["home"], c["reachable"]) for c in listed] == [("east", True, None),
                                                                             ("west", False, True)]
        west_incidents = api.get("/api/v1/incidents", params={"cluster": "west"}).json()
        assert sorted(i["target"]["name"] for i in west_incidents) == ["cart", "checkout"]
        assert all(i["target"]["cluster"] == "west" for i in west_incidents)
        east_incidents = api.get("/api/v1/incidents", params={"cluster": "east"}).json()
        assert [i["target"] for i in east_incidents] == [{"kind": "Deployment", "namespace": "shop", "name": "cart"}]
        assert {a["cluster"] for a in api.get("/api/v1/audit", params={"cluster": "west"}).json()} == {"west"}
        assert {e["target"].get("cluster") for e in api.get("/api/v1/events", params={"cluster": "east"}).json()} \
            == {None}
        assert {d["target"]["cluster"] for d in api.get("/api/v1/decisions", params={"cluster": "west"}).json()} \
            == {"west"}
        assert {w["ref"]["cluster"] for w in api.get("/api/v1/inventory", params={"cluster": "west"}).json()} \
            == {"west"}
        unknown = api.get("/api/v1/incidents", params={"cluster": "north"})
        assert unknown.status_code == 422 and "east, west" in unknown.text
    finally:
        engine.stop()
        engine.store.close()
        hooks.stop()
