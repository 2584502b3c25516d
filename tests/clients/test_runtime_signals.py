"""Runtime inference before image names: OpenTelemetry resource attributes, the container's command, args and
environment; their precedence; and the inventory of a real (sandbox) cluster listed through the official client."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tagent.clients.kubernetes import KubeClient
from tagent.clients.kubernetes.runtime import infer_runtime, runtime_from_container, runtime_from_otel
from tagent.model.inventory import Runtime
from tagent.sandbox import Sandbox

PRIVATE = "ghcr.io/acme/payment-api:2.4.1"


def env(*names: str) -> list[dict[str, str]]:
    return [{"name": n, "value": "x"} for n in names]


@pytest.mark.parametrize(("container", "expected"), [
    ({"env": env("JAVA_TOOL_OPTIONS")}, Runtime.java),
    ({"env": env("TZ", "JAVA_OPTS")}, Runtime.java),
    ({"env": env("JDK_JAVA_OPTIONS")}, Runtime.java),
    ({"command": ["java"], "args": ["-Xmx512m", "-jar", "/app/app.jar"]}, Runtime.java),
    ({"command": ["/bin/sh", "-c", "exec java -jar app.jar"]}, Runtime.java),
    ({"args": ["/opt/app/service.jar"]}, Runtime.java),
    ({"command": ["node", "dist/server.js"]}, Runtime.nodejs),
    ({"command": ["/usr/local/bin/npm"], "args": ["start"]}, Runtime.nodejs),
    ({"env": env("NODE_OPTIONS")}, Runtime.nodejs),
    ({"command": ["python3.12", "-m", "app"]}, Runtime.python),
    ({"command": ["gunicorn", "app:wsgi"]}, Runtime.python),
    ({"env": env("PYTHONUNBUFFERED")}, Runtime.python),
    ({"env": env("GOMAXPROCS")}, Runtime.go),
    ({"env": env("GODEBUG", "PORT")}, Runtime.go),
    ({"command": ["/app/server"], "env": env("PORT")}, None),  # a bare binary alone is weak evidence
    ({"env": env("PORT", "LOG_LEVEL")}, None),
    ({}, None),
])
def test_command_args_and_environment(container: dict[str, Any], expected: Runtime | None) -> None:
    assert runtime_from_container(container) == expected


@pytest.mark.parametrize(("attributes", "expected"), [
    ({"telemetry.sdk.language": "java"}, Runtime.java),
    ({"telemetry.sdk.language": "nodejs", "process.runtime.name": "nodejs"}, Runtime.nodejs),
    ({"telemetry.sdk.language": "python"}, Runtime.python),
    ({"telemetry.sdk.language": "go"}, Runtime.go),
    ({"process.runtime.name": "OpenJDK Runtime Environment"}, Runtime.java),
    ({"process.runtime.name": "Java(TM) SE Runtime Environment"}, Runtime.java),
    ({"process.runtime.name": "cpython"}, Runtime.python),
    ({"process.runtime.name": "pypy"}, Runtime.python),
    ({"telemetry.sdk.language": "dotnet"}, None),
    ({"telemetry.sdk.language": "cpp"}, None),
    ({"service.name": "x"}, None),
    (None, None),
])
def test_opentelemetry_resource_attributes(attributes: dict[str, str] | None, expected: Runtime | None) -> None:
    assert runtime_from_otel(attributes) == expected


def test_a_private_image_with_java_options_is_java_and_the_precedence_holds() -> None:
    java = [{"image": PRIVATE, "env": env("JAVA_TOOL_OPTIONS")}]
    assert infer_runtime([PRIVATE], {}, [8080]) == Runtime.unknown  # what the image name alone gave
    assert infer_runtime([PRIVATE], {}, [8080], containers=java) == Runtime.java
    # the spans say more than the start command; an explicit label says more than the spans
    assert infer_runtime([PRIVATE], {}, [], containers=java, otel={"telemetry.sdk.language": "go"}) == Runtime.go
    assert infer_runtime([PRIVATE], {"tagent.io/runtime": "python"}, [], containers=java,
                         otel={"telemetry.sdk.language": "go"}) == Runtime.python
    # the command beats the image name (a python base image running a Node.js server) ...
    assert infer_runtime(["python:3.12"], {}, [], containers=[{"command": ["node", "x.js"]}]) == Runtime.nodejs
    # ... only the main (first) container's
    assert infer_runtime(["python:3.12", "sidecar:1"], {}, [],
                         containers=[{}, {"env": env("JAVA_OPTS")}]) == Runtime.python
    # a single static binary is Go only when the image name says nothing
    static = [{"command": ["/manager"], "args": ["--leader-elect"]}]
    assert infer_runtime(["ghcr.io/acme/operator:1"], {}, [], containers=static) == Runtime.go
    assert infer_runtime(["rust:1.80"], {"app": "x"}, [], containers=static) == Runtime.unknown
    assert infer_runtime(["python:3.12"], {}, [], containers=static) == Runtime.python
    assert infer_runtime(["ghcr.io/acme/tool:1"], {}, [], containers=[{"command": ["/bin/sh", "-c", "run"]}]) \
        == Runtime.unknown
    # an unrecognised language in the spans falls through to the next signal
    assert infer_runtime(["node:20"], {}, [], otel={"telemetry.sdk.language": "cpp"}) == Runtime.nodejs


def test_the_inventory_of_a_cluster_reads_commands_and_environment(sandbox: Sandbox, kube_api: client.ApiClient,
                                                                  kubeconfig: Any) -> None:
    apps = client.AppsV1Api(kube_api)
    for name, container in (("payment-api", {"name": "app", "image": PRIVATE,
                                             "env": [{"name": "JAVA_TOOL_OPTIONS", "value": "-XX:+UseG1GC"}]}),
                            ("worker", {"name": "app", "image": "ghcr.io/acme/worker:3",
                                        "command": ["python", "-m", "worker"]}),
                            ("plain", {"name": "app", "image": "ghcr.io/acme/plain:1"})):
        apps.create_namespaced_deployment("shop", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}})
    kube = KubeClient.from_kubeconfig(kubeconfig)
    try:
        runtimes = {w.ref.name: w.runtime for w in kube.list_workloads("shop")}
    finally:
        kube.close()
    assert runtimes["payment-api"] == Runtime.java and runtimes["worker"] == Runtime.python
    assert runtimes["plain"] == Runtime.unknown
    assert runtimes["payment-service"] == Runtime.java and runtimes["frontend"] == Runtime.nodejs  # images still
