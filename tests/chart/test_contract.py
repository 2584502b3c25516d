"""The rendered manifests are valid Kubernetes objects, and the engine's environment is a valid Settings
with which the engine starts (test_real_apiserver.py sends the same manifests to a real API server).

Two independent checks of validity: the official `kubernetes` client models (what the API server's
OpenAPI generates) and `kubernetes-validate`'s JSON schemas in strict mode (unknown fields fail).
"""

from __future__ import annotations

import json
from typing import Any

import kubernetes
import pydantic
import pytest

from tagent.api.app import require_tokens
from tagent.settings import Settings
from tests.chart.render import render
from tests.chart.value_sets import VALUE_SETS

KUBE_VERSION = "1.30.0"
MODELS = {
    "Deployment": "V1Deployment", "Service": "V1Service", "ServiceAccount": "V1ServiceAccount",
    "ConfigMap": "V1ConfigMap", "PersistentVolumeClaim": "V1PersistentVolumeClaim",
    "ClusterRole": "V1ClusterRole", "ClusterRoleBinding": "V1ClusterRoleBinding", "Role": "V1Role",
    "RoleBinding": "V1RoleBinding", "Secret": "V1Secret", "Ingress": "V1Ingress",
    "PodDisruptionBudget": "V1PodDisruptionBudget",
}


def _model(obj: dict[str, Any]) -> Any:
    """The client's pydantic model of `obj`: a wrong type raises, an unknown field is dropped."""
    return getattr(kubernetes.client, MODELS[obj["kind"]]).from_dict(obj)


def _round_trip(obj: dict[str, Any]) -> dict[str, Any]:
    """Back to JSON the way the client sends objects to the API server."""
    back: dict[str, Any] = kubernetes.client.ApiClient().sanitize_for_serialization(_model(obj))
    return back


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_objects_deserialise_into_kubernetes_models_without_loss(case: str) -> None:
    """Every field we render is one the API knows: the model round-trip gives back the same object."""
    rendered = render(VALUE_SETS[case])
    for obj in rendered.objects:
        assert obj["kind"] in MODELS, f"unexpected kind {obj['kind']}"
        assert _model(obj).metadata.name == obj["metadata"]["name"]
        assert _round_trip(obj) == obj, f"{obj['kind']}/{obj['metadata']['name']} lost or changed fields"


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_objects_pass_the_kubernetes_json_schemas(case: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    for obj in render(VALUE_SETS[case]).objects:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


def test_the_validators_do_catch_a_broken_object() -> None:
    """Guard against a check that cannot fail: a misspelt field and a wrong type are both reported."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    deployment = render().deployment("engine")
    typo = json.loads(json.dumps(deployment))
    typo["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBE_VERSION, strict=True)
    assert _round_trip(typo) != typo  # the model drops the unknown field, so the round-trip test sees it
    wrong = json.loads(json.dumps(deployment))
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBE_VERSION, strict=True)
    with pytest.raises(pydantic.ValidationError):
        _model(wrong)


# Placeholders standing in for what the kubelet reads from the referenced Secrets.
_SECRET_STANDINS = {
    "TAGENT_DB_URL": "postgresql+psycopg://tagent:pw@db:5432/tagent",
    "TAGENT_TWILIO_ACCOUNT_SID": "AC0123",
}


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_engine_environment_is_a_valid_settings(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every TAGENT_ variable the chart sets is a Settings field, and together they load."""
    env = render(VALUE_SETS[case]).env("engine")
    fields = set(Settings.model_fields)
    for name, entry in env.items():
        if not name.startswith("TAGENT_"):
            continue
        field = name.removeprefix("TAGENT_").split("__")[0].lower()
        assert field in fields, f"{name} is not a Settings field"
        value = entry.get("value", _SECRET_STANDINS.get(name, f"secret-of-{name.lower()}"))
        monkeypatch.setenv(name, value)
    settings = Settings()
    # the engine serves its API on the pod's address: it must have a token, or it refuses to start
    require_tokens(settings)
    assert settings.api_token is not None
    assert str(settings.data_dir) == "/data"
    assert settings.api_host == "0.0.0.0" and settings.api_port == 8080
    assert settings.dry_run is (case == "read-only")
    assert "kube-system" in settings.protected_namespaces
    if case == "people":
        assert set(settings.notify_urls) == {"slack-oncall", "teams-sre"}
        assert settings.protected_workloads == ["shop/payment-db", "shop/StatefulSet/pg"]
        assert settings.llm_api_key is not None and settings.twilio_auth_token is not None
