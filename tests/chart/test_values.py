"""values.schema.json rejects typos and bad values at install; each option reaches the engine as expected."""

from __future__ import annotations

import base64
import json
from typing import Any

import helm_python
import pytest

from tests.chart.render import CHART, NAMESPACE, RELEASE, Rendered, render
from tests.chart.value_sets import VALUE_SETS


@pytest.mark.parametrize(("values", "where"), [
    ({"readonly": True}, "readonly"),                                   # typo of readOnly
    ({"engine": {"replicaCount": 2}}, "replicaCount"),                  # typo of replicas
    ({"safety": {"protectedNamespace": ["shop"]}}, "protectedNamespace"),
    ({"rules": {"source": "github"}}, "/rules/source"),
    ({"rules": {"repo": "not a url"}}, "/rules/repo"),
    ({"readOnly": "yes"}, "/readOnly"),
    ({"engine": {"replicas": -1}}, "/engine/replicas"),
    ({"podSecurity": {"runAsUser": 0}}, "/podSecurity/runAsUser"),
    ({"safety": {"protectedWorkloads": ["payment-db"]}}, "/safety/protectedWorkloads/0"),
    ({"safety": {"excludedNamespaces": ["Shop"]}}, "/safety/excludedNamespaces/0"),
    ({"notify": {"channels": {"Slack Oncall": "slack"}}}, "'Slack Oncall' does not match"),
    ({"notify": {"phones": {"alice": "5551234"}}}, "/notify/phones/alice"),
    ({"observability": {"prometheusUrl": "prometheus:9090"}}, "/observability/prometheusUrl"),
    ({"persistence": {"size": "two gigs"}}, "/persistence/size"),
    ({"image": {"digest": "latest"}}, "/image/digest"),
    ({"database": {"existingSecret": "Bad_Name"}}, "/database/existingSecret"),
    ({"prometheus": {"enabled": True}}, "prometheus"),                  # no bundled dependency any more
    ({"observability": {"otlpEndpoint": "http://otel:4317"}}, "otlpEndpoint"),  # the engine has no tracing
    ({"ingress": {"host": "https://tagent.example.com"}}, "/ingress/host"),
    ({"ingress": {"tls": {"secretName": "Bad_Name"}}}, "/ingress/tls/secretName"),
])
def test_schema_rejects_typos_and_bad_values(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm_python.HelmValuesError) as caught:
        render(values)
    assert where in str(caught.value)
    # `helm lint` with the same values reports it as an error too
    report = helm_python.lint(CHART, values)
    assert any(where in e for e in report["errors"])


def test_schema_is_strict_at_every_level() -> None:
    """additionalProperties false on every object of the values."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_keys = {"global"}  # Helm's own
    open_leaves = {"annotations", "podAnnotations", "nodeSelector", "affinity", "requests", "limits", "channels",
                   "phones"}

    def walk(node: dict[str, Any], path: str) -> None:
        for key, sub in node.get("properties", {}).items():
            here = f"{path}/{key}"
            if key in open_keys and path == "":
                continue
            if sub.get("type") == "object" and key not in open_leaves:
                assert sub.get("additionalProperties") is False, here
                walk(sub, here)
    assert schema["additionalProperties"] is False
    walk(schema, "")
    # every default value is described by the schema (and the defaults themselves validate)
    with helm_python.Chart.load(CHART) as chart:
        chart.validate_schema(chart.values)
        assert set(chart.values) <= set(schema["properties"])


@pytest.mark.parametrize(("values", "message"), [
    ({"engine": {"replicas": 3}}, "engine.replicas > 1 needs database.existingSecret"),
    ({"rules": {"source": "gitSync"}}, "rules.source=gitSync needs rules.repo"),
    ({"rules": {"source": "git"}}, "rules.source=git needs rules.repo"),
    ({"notify": {"channels": {"oncall": "slack"}}}, "notify.channels needs notify.existingSecret"),
    ({"ingress": {"enabled": True}}, "ingress.enabled needs ingress.host"),
    ({"api": {"webhookTokenKey": "webhook-token"}}, "api.webhookTokenKey needs api.existingSecret"),
])
def test_inconsistent_values_fail_with_one_sentence(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm_python.HelmRenderError) as caught:
        render(values)
    assert message in str(caught.value)


def test_git_sync_sidecar_and_first_clone() -> None:
    rendered = render(VALUE_SETS["git-sync-https"])
    assert not rendered.has("ConfigMap", f"{RELEASE}-rules")
    pod = rendered.deployment("engine")["spec"]["template"]["spec"]
    init, = pod["initContainers"]
    sidecar = rendered.container("engine", "git-sync")
    for container, one_time in ((init, True), (sidecar, False)):
        env = {e["name"]: e for e in container["env"]}
        assert env["GITSYNC_REPO"]["value"] == "https://git.example.com/acme/sre-rules.git"
        assert env["GITSYNC_REF"]["value"] == "prod"
        assert env["GITSYNC_PERIOD"]["value"] == "60s"
        assert env["GITSYNC_ROOT"]["value"] == "/git" and env["GITSYNC_LINK"]["value"] == "current"
        assert env["GITSYNC_USERNAME"]["valueFrom"] == {"secretKeyRef": {"name": "rules-git", "key": "username"}}
        assert env["GITSYNC_PASSWORD_FILE"]["value"] == "/etc/git-secret/password"
        assert "GITSYNC_PASSWORD" not in env  # a file, never an environment value
        assert ("GITSYNC_ONE_TIME" in env) is one_time
        assert container["image"].startswith("registry.k8s.io/git-sync/git-sync:v4.")
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts["/etc/git-secret"]["readOnly"] is True and "readOnly" not in mounts["/git"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["git-secret"]["secret"] == {"secretName": "rules-git", "defaultMode": 0o440}
    assert volumes["git"] == {"name": "git", "emptyDir": {}}
    engine_mounts = {m["mountPath"]: m for m in rendered.container("engine")["volumeMounts"]}
    assert engine_mounts["/git"]["readOnly"] is True
    # the engine reads the synced checkout's subdirectory
    assert rendered.env("engine")["TAGENT_RULES"]["value"] == "/git/current/tagent"


def test_git_sync_over_ssh() -> None:
    rendered = render(VALUE_SETS["git-sync-ssh"])
    env = {e["name"]: e for e in rendered.container("engine", "git-sync")["env"]}
    assert env["GITSYNC_SSH_KEY_FILE"]["value"] == "/etc/git-secret/ssh"
    assert env["GITSYNC_SSH_KNOWN_HOSTS_FILE"]["value"] == "/etc/git-secret/known_hosts"
    assert "GITSYNC_USERNAME" not in env and "GITSYNC_PASSWORD_FILE" not in env
    assert rendered.env("engine")["TAGENT_RULES"]["value"] == "/git/current"


def test_engine_polls_git_itself() -> None:
    rendered = render(VALUE_SETS["git-poll"])
    env = rendered.env("engine")
    assert env["TAGENT_RULES"]["value"] == "https://git.example.com/acme/sre-rules.git"
    assert env["TAGENT_RULES_BRANCH"]["value"] == "main"
    assert env["TAGENT_RULES_PATH"]["value"] == "ops/tagent"
    assert env["TAGENT_RULES_POLL_INTERVAL"]["value"] == "30"
    assert env["TAGENT_RULES_GIT_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": "rules-token", "key": "token"}}
    assert "initContainers" not in rendered.deployment("engine")["spec"]["template"]["spec"]
    assert not rendered.has("ConfigMap", f"{RELEASE}-rules")


def test_existing_observability_backends() -> None:
    env = render(VALUE_SETS["existing-observability"]).env("engine")
    assert env["TAGENT_PROMETHEUS_URL"]["value"] == "http://prometheus-server.monitoring.svc"
    assert env["TAGENT_LOKI_URL"]["value"] == "http://loki-gateway.monitoring.svc"


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_no_tracing_variables(case: str) -> None:
    """The engine exports no traces, so the chart sets no OpenTelemetry variable that would suggest it does."""
    for _, _, container in render(VALUE_SETS[case]).pod_containers():
        assert not [e["name"] for e in container.get("env", []) if e["name"].startswith("OTEL_")]


def test_zero_config_has_no_backends() -> None:
    env = render().env("engine")
    assert not {"TAGENT_PROMETHEUS_URL", "TAGENT_LOKI_URL"} & set(env)


def test_no_dependency_charts() -> None:
    """A fresh clone installs as it is: nothing to fetch with `helm dependency build` first."""
    with helm_python.Chart.load(CHART) as chart:
        assert chart.dependencies == []
    assert helm_python.dependency_list(CHART) == []


def test_safety_values_reach_the_engine() -> None:
    env = render(VALUE_SETS["people"]).env("engine")
    assert json.loads(env["TAGENT_PROTECTED_NAMESPACES"]["value"]) == ["kube-system", NAMESPACE]
    assert json.loads(env["TAGENT_EXCLUDED_NAMESPACES"]["value"]) == ["sandbox"]
    assert json.loads(env["TAGENT_PROTECTED_WORKLOADS"]["value"]) == ["shop/payment-db", "shop/StatefulSet/pg"]
    assert json.loads(env["TAGENT_MAINTENANCE_WINDOWS"]["value"]) == ["Sat 02:00-04:00 UTC"]
    assert env["TAGENT_DRY_RUN"]["value"] == "false"
    # the release namespace is protected once even when listed
    env = render({"safety": {"protectedNamespaces": [NAMESPACE, "kube-system"]}}).env("engine")
    assert json.loads(env["TAGENT_PROTECTED_NAMESPACES"]["value"]) == [NAMESPACE, "kube-system"]


def _secret_refs(rendered: Rendered) -> dict[str, dict[str, str]]:
    return {name: e["valueFrom"]["secretKeyRef"] for name, e in rendered.env("engine").items() if "valueFrom" in e}


def test_credentials_are_secret_references() -> None:
    rendered = render(VALUE_SETS["people"])
    assert _secret_refs(rendered) == {
        "TAGENT_API_TOKEN": {"name": "tagent-api", "key": "api-token"},
        "TAGENT_WEBHOOK_TOKEN": {"name": "tagent-api", "key": "webhook-token"},
        "TAGENT_NOTIFY_URLS__slack-oncall": {"name": "tagent-notify", "key": "slack"},
        "TAGENT_NOTIFY_URLS__teams-sre": {"name": "tagent-notify", "key": "teams"},
        "TAGENT_TWILIO_ACCOUNT_SID": {"name": "tagent-twilio", "key": "account-sid"},
        "TAGENT_TWILIO_AUTH_TOKEN": {"name": "tagent-twilio", "key": "auth-token"},
        "TAGENT_LLM_API_KEY": {"name": "tagent-llm", "key": "api-key"},
    }
    assert rendered.env("dashboard")["TAGENT_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "tagent-api", "key": "api-token"}
    env = rendered.env("engine")
    assert json.loads(env["TAGENT_PHONES"]["value"]) == {"oncall-phone": "+15551234567"}
    assert env["TAGENT_TWILIO_FROM"]["value"] == "+15557654321"
    assert env["TAGENT_LLM_BASE_URL"]["value"] == "https://llm.example.com/v1"


# Settings fields that hold a credential (SecretStr): the chart may only ever fill them from a Secret.
SECRET_FIELDS = ("TAGENT_DB_URL", "TAGENT_API_TOKEN", "TAGENT_WEBHOOK_TOKEN", "TAGENT_TWILIO_AUTH_TOKEN",
                 "TAGENT_LLM_API_KEY", "TAGENT_RULES_GIT_TOKEN", "TAGENT_REDIS_URL", "TAGENT_NOTIFY_URLS",
                 "GITSYNC_PASSWORD")


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_no_secret_value_is_ever_rendered(case: str) -> None:
    rendered = render(VALUE_SETS[case])
    # the one Secret the chart may make: a random API token, and only when you name no Secret of your own
    made = [s["metadata"]["name"] for s in rendered.all("Secret")]
    assert made == ([] if VALUE_SETS[case].get("api", {}).get("existingSecret") else [f"{RELEASE}-api"])
    for workload, _, container in rendered.pod_containers():
        for entry in container.get("env", []):
            if entry["name"] in SECRET_FIELDS or entry["name"].startswith("TAGENT_NOTIFY_URLS__"):
                assert set(entry) == {"name", "valueFrom"}, (workload, entry)
                assert set(entry["valueFrom"]) == {"secretKeyRef"}, (workload, entry)
        assert "envFrom" not in container


def test_the_generated_api_token_is_random_and_shared_with_the_dashboard() -> None:
    """No token is written in the chart: each fresh render draws a new one (an upgrade reads the installed one
    back with `lookup`, tested against the real API server in test_real_apiserver.py)."""
    tokens = set()
    for _ in range(3):
        rendered = render()
        secret = rendered.get("Secret", f"{RELEASE}-api")
        token = base64.b64decode(secret["data"]["api-token"]).decode()
        assert len(token) == 48 and token.isalnum()
        tokens.add(token)
        ref = {"name": f"{RELEASE}-api", "key": "api-token"}
        assert rendered.env("engine")["TAGENT_API_TOKEN"]["valueFrom"]["secretKeyRef"] == ref
        assert rendered.env("dashboard")["TAGENT_API_TOKEN"]["valueFrom"]["secretKeyRef"] == ref
        assert "TAGENT_WEBHOOK_TOKEN" not in rendered.env("engine")  # the webhook falls back to the API token
    assert len(tokens) == 3
    custom = render({"api": {"tokenKey": "token"}}).get("Secret", f"{RELEASE}-api")
    assert set(custom["data"]) == {"token"}


def test_ingress_routes_people_and_callbacks() -> None:
    rendered = render(VALUE_SETS["ingress"])
    ingress = rendered.get("Ingress", RELEASE)
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["tagent.example.com"], "secretName": "tagent-tls"}]
    rule, = spec["rules"]
    assert rule["host"] == "tagent.example.com"
    routes = {p["path"]: (p["pathType"], p["backend"]["service"]) for p in rule["http"]["paths"]}
    assert routes == {"/api": ("Prefix", {"name": f"{RELEASE}-engine", "port": {"name": "http"}}),
                      "/": ("Prefix", {"name": f"{RELEASE}-dashboard", "port": {"name": "http"}})}
    # Twilio calls back through the Ingress unless publicUrl says otherwise
    assert rendered.env("engine")["TAGENT_PUBLIC_URL"]["value"] == "https://tagent.example.com"
    plain = render({"ingress": {"enabled": True, "host": "tagent.internal"}})
    assert plain.env("engine")["TAGENT_PUBLIC_URL"]["value"] == "http://tagent.internal"
    assert "tls" not in plain.get("Ingress", RELEASE)["spec"]
    assert "ingressClassName" not in plain.get("Ingress", RELEASE)["spec"]
    explicit = render({**VALUE_SETS["ingress"], "publicUrl": "https://calls.example.com"})
    assert explicit.env("engine")["TAGENT_PUBLIC_URL"]["value"] == "https://calls.example.com"
    no_dashboard = render({**VALUE_SETS["ingress"], "dashboard": {"enabled": False}}).get("Ingress", RELEASE)
    assert [p["path"] for p in no_dashboard["spec"]["rules"][0]["http"]["paths"]] == ["/api"]
    assert not render().all("Ingress")
