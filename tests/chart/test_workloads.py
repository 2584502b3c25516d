"""Deployments, Services, storage and NOTES.txt as rendered for every value set."""

from __future__ import annotations

import pytest

from tests.chart.render import NAMESPACE, RELEASE, Rendered, render
from tests.chart.value_sets import VALUE_SETS


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_every_container_is_hardened(case: str) -> None:
    rendered = render(VALUE_SETS[case])
    seen = 0
    for workload, pod, container in rendered.pod_containers():
        seen += 1
        where = f"{workload}/{container['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] > 0, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, where
        assert sc["readOnlyRootFilesystem"] is True, where
        assert sc["runAsNonRoot"] is True, where
        assert sc["capabilities"] == {"drop": ["ALL"]}, where
        assert "privileged" not in sc, where
        # a read-only root needs a writable /tmp: an emptyDir
        tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
        volume = next(v for v in pod["volumes"] if v["name"] == tmp["name"])
        assert volume == {"name": tmp["name"], "emptyDir": {}}, where
        # requests and limits for cpu and memory on every container
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}, where
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), where
    assert seen >= 2


def test_probes_use_the_api_health_endpoints(default: Rendered) -> None:
    engine = default.container("engine")
    port = engine["ports"][0]
    assert port == {"name": "http", "containerPort": 8080, "protocol": "TCP"}
    assert engine["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert engine["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert engine["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # the engine listens on the pod's address, on the port the probes use
    env = default.env("engine")
    assert env["TAGENT_API_HOST"]["value"] == "0.0.0.0"
    assert env["TAGENT_API_PORT"]["value"] == "8080"
    assert engine["args"] == ["run", "--port", "8080"]
    dashboard = default.container("dashboard")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert dashboard[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}


def test_dashboard_points_at_the_engine_service(default: Rendered) -> None:
    service = default.get("Service", f"{RELEASE}-engine")
    url = f"http://{RELEASE}-engine.{NAMESPACE}.svc:{service['spec']['ports'][0]['port']}"
    assert default.container("dashboard")["args"] == ["dashboard", "--api", url]
    env = default.env("dashboard")
    assert env["STREAMLIT_SERVER_PORT"]["value"] == "8501"
    assert env["STREAMLIT_SERVER_ADDRESS"]["value"] == "0.0.0.0"


def test_services_select_their_own_pods(default: Rendered) -> None:
    for component, port in (("engine", 8080), ("dashboard", 8501)):
        service = default.get("Service", f"{RELEASE}-{component}")
        pod_labels = default.deployment(component)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert service["spec"]["selector"]["app.kubernetes.io/component"] == component
        assert service["spec"]["ports"] == [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}]
        selector = default.deployment(component)["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()


def test_sqlite_on_a_kept_claim_by_default(default: Rendered) -> None:
    claim = default.get("PersistentVolumeClaim", f"{RELEASE}-data")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    engine = default.deployment("engine")
    assert engine["spec"]["strategy"] == {"type": "Recreate"}
    data = next(v for v in engine["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == f"{RELEASE}-data"
    env = default.env("engine")
    assert env["TAGENT_DATA_DIR"]["value"] == "/data"
    assert "TAGENT_DB_URL" not in env


def test_external_postgres_from_a_secret() -> None:
    rendered = render(VALUE_SETS["external-postgres"])
    assert not rendered.all("PersistentVolumeClaim")
    env = rendered.env("engine")
    assert env["TAGENT_DB_URL"] == {"name": "TAGENT_DB_URL", "valueFrom": {
        "secretKeyRef": {"name": "tagent-db", "key": "sqlalchemy-url"}}}
    engine = rendered.deployment("engine")
    assert engine["spec"]["replicas"] == 2
    assert "strategy" not in engine["spec"]  # rolling updates are fine without a single-writer volume
    data = next(v for v in engine["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
    assert data == {"name": "data", "emptyDir": {}}


def test_existing_claim_and_no_persistence() -> None:
    rendered = render({"persistence": {"existingClaim": "old-tagent-data"}})
    assert not rendered.all("PersistentVolumeClaim")
    volumes = rendered.deployment("engine")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "old-tagent-data"}} in volumes
    rendered = render({"persistence": {"enabled": False}})
    assert not rendered.all("PersistentVolumeClaim")
    volumes = rendered.deployment("engine")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "emptyDir": {}} in volumes


def test_storage_class_dash_means_no_class() -> None:
    claim = render({"persistence": {"storageClass": "-"}}).get("PersistentVolumeClaim", f"{RELEASE}-data")
    assert claim["spec"]["storageClassName"] == ""
    claim = render({"persistence": {"storageClass": "fast"}}).get("PersistentVolumeClaim", f"{RELEASE}-data")
    assert claim["spec"]["storageClassName"] == "fast"


def test_notes_say_how_to_open_the_dashboard(default: Rendered) -> None:
    line = f"kubectl --namespace {NAMESPACE} port-forward svc/{RELEASE}-dashboard 8501:8501"
    assert line in default.notes
    assert "http://127.0.0.1:8501" in default.notes
    assert "READ-ONLY" not in default.notes
    without = render({"dashboard": {"enabled": False}})
    assert "port-forward svc/tagent-dashboard" not in without.notes
    assert not without.has("Deployment", f"{RELEASE}-dashboard") and not without.has("Service", f"{RELEASE}-dashboard")


def test_image_tag_defaults_to_app_version_and_digest_wins() -> None:
    # no image is published: the default is the name the README's `docker build -t tagent:0.1.0 .` gives
    assert render().container("engine")["image"] == "tagent:0.1.0"
    digest = "sha256:" + "a" * 64
    rendered = render({"image": {"repository": "registry.local/tagent", "tag": "1.2.3", "digest": digest}})
    assert rendered.container("engine")["image"] == f"registry.local/tagent@{digest}"
    assert rendered.container("dashboard")["image"] == f"registry.local/tagent@{digest}"


def test_names_follow_the_release() -> None:
    rendered = render(name="ops")
    assert rendered.has("Deployment", "ops-tagent-engine")
    assert rendered.get("ClusterRole", "ops-tagent")["metadata"]["labels"]["app.kubernetes.io/instance"] == "ops"
    container = next(c for _, _, c in rendered.pod_containers() if c["name"] == "dashboard")
    assert container["args"][-1] == f"http://ops-tagent-engine.{NAMESPACE}.svc:8080"
