"""The chart's many-clusters values: this cluster's name and each remote cluster's kubeconfig Secret reach the
engine as the settings it reads (TAGENT_CLUSTER_NAME, TAGENT_CLUSTERS pointing at the mounted files), validated
by the engine's own settings model; the schema refuses a name that cannot prefix keys; lint stays clean."""

from __future__ import annotations

import json
from typing import Any

import helm_python
import pytest

from tagent.settings import ClusterSpec
from tests.chart.render import lint, lint_problems, render

TWO: dict[str, Any] = {"clusterName": "east", "clusters": [
    {"name": "west", "secretName": "tagent-cluster-west", "context": "west-admin",
     "prometheusUrl": "http://prometheus.west.example"},
    {"name": "lab", "secretName": "lab-kubeconfig", "key": "config"}]}


def test_one_cluster_by_default_named_default() -> None:
    env = render().env("engine")
    assert env["TAGENT_CLUSTER_NAME"]["value"] == "default"
    assert "TAGENT_CLUSTERS" not in env


def test_remote_clusters_are_mounted_and_named_to_the_engine() -> None:
    rendered = render(TWO)
    env = rendered.env("engine")
    assert env["TAGENT_CLUSTER_NAME"]["value"] == "east"
    specs = [ClusterSpec.model_validate(c) for c in json.loads(env["TAGENT_CLUSTERS"]["value"])]
    assert [(s.name, str(s.kubeconfig), s.context, s.prometheus_url) for s in specs] == [
        ("west", "/etc/tagent/clusters/west/kubeconfig", "west-admin", "http://prometheus.west.example"),
        ("lab", "/etc/tagent/clusters/lab/config", None, None)]
    mounts = {m["mountPath"]: m for m in rendered.container("engine")["volumeMounts"]}
    volumes = {v["name"]: v for v in rendered.deployment("engine")["spec"]["template"]["spec"]["volumes"]}
    for spec, secret in zip(specs, ("tagent-cluster-west", "lab-kubeconfig"), strict=True):
        mount = mounts[str(spec.kubeconfig.parent)]
        assert mount["readOnly"] is True
        assert volumes[mount["name"]]["secret"] == {"secretName": secret, "defaultMode": 0o400}
    assert not lint_problems(lint(TWO, strict=True))


@pytest.mark.parametrize(("values", "where"), [
    ({"clusterName": "Prod_1"}, "/clusterName"),
    ({"clusters": [{"name": "West", "secretName": "kc"}]}, "/clusters/0/name"),
    ({"clusters": [{"name": "west"}]}, "secretName"),
    ({"clusters": [{"name": "west", "secretName": "kc", "kubeconfig": "/x"}]}, "kubeconfig"),
])
def test_the_schema_refuses_bad_cluster_values(values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm_python.HelmValuesError) as caught:
        render(values)
    assert where in str(caught.value)
