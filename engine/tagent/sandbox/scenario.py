"""Scenarios: the initial cluster (nodes, workloads and how they behave) plus a timed fault script, as YAML.

    apiVersion: tagent.io/v1
    kind: SandboxScenario
    metadata: {name: demo}
    spec:
      nodes: [{name: node-a}, {name: node-b}]
      workloads:
        - {namespace: shop, name: cart, image: golang:1.22, replicas: 2, rps: 12, latencyMs: 8}
      script:
        - {at: 2m, fault: crashloop, target: shop/cart}
        - {at: 10m, fault: heal, target: shop/cart}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from tagent.errors import ValidationError
from tagent.model.duration import Duration
from tagent.sandbox.quantities import parse_quantity

FaultName = Literal["crashloop", "oom", "error-spike", "bad-deploy", "bad-image", "load", "idle", "latency", "heal"]
FAULTS: tuple[str, ...] = ("crashloop", "oom", "error-spike", "bad-deploy", "bad-image", "load", "idle", "latency",
                           "heal")
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Resources(_Model):
    cpu: str | None = None
    memory: str | None = None

    @field_validator("cpu", "memory")
    @classmethod
    def _quantity(cls, value: str | None) -> str | None:
        if value is not None:
            parse_quantity(value)
        return value

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("cpu", self.cpu), ("memory", self.memory)) if v}


class WorkloadSpec(_Model):
    """A workload and its simulated behaviour (per pod: request rate, latency, CPU and memory use)."""

    namespace: str = Field(pattern=DNS_LABEL)
    name: str = Field(pattern=DNS_LABEL)
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    image: str = Field(min_length=1)
    replicas: int = Field(default=1, ge=0, le=100)
    port: int | None = Field(default=8080, ge=1, le=65535)
    http: bool = True  # serves HTTP: request metrics and access-log lines
    rps: float = Field(default=5.0, ge=0, le=10000)  # requests per second per pod
    latency_ms: float = Field(default=20.0, gt=0, le=60000)
    cpu: str = "50m"  # typical CPU use per pod
    memory: str = "96Mi"  # typical working set per pod
    requests: Resources = Resources(cpu="100m", memory="128Mi")
    limits: Resources = Resources(memory="256Mi")
    startup: Duration = 2.0  # sandbox seconds from container start to ready
    paths: tuple[str, ...] = ("/", "/api/items", "/api/items/42", "/healthz")
    labels: dict[str, str] = Field(default_factory=dict)
    min_available: int | None = Field(default=None, ge=0)  # creates a PodDisruptionBudget
    version: str = "1.0.0"
    calls: tuple[str, ...] = ()  # workloads each request calls in turn (NAME in the same namespace, or NS/NAME)

    @field_validator("cpu", "memory")
    @classmethod
    def _quantity(cls, value: str) -> str:
        parse_quantity(value)
        return value

    @field_validator("calls")
    @classmethod
    def _calls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for call in value:
            if not all(re.match(DNS_LABEL, part) for part in call.split("/")) or call.count("/") > 1:
                raise ValueError(f"calls: {call!r} is not NAME or NAMESPACE/NAME")
        return value

    def callees(self) -> tuple[tuple[str, str], ...]:
        """(namespace, name) of the workloads a request calls, in order."""
        out = []
        for call in self.calls:
            namespace, _, name = call.rpartition("/")
            out.append((namespace or self.namespace, name))
        return tuple(out)


class NodeSpec(_Model):
    name: str = Field(pattern=DNS_LABEL)
    cpu: str = "4"
    memory: str = "16Gi"
    pods: str = "110"
    zone: str = "zone-a"


class ScriptStep(_Model):
    at: Duration  # sandbox time after start
    fault: FaultName
    target: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")  # NAMESPACE/NAME
    params: dict[str, float] = Field(default_factory=dict)


class ScenarioSpec(_Model):
    nodes: tuple[NodeSpec, ...] = Field(min_length=1)
    namespaces: tuple[str, ...] = ()
    workloads: tuple[WorkloadSpec, ...] = ()
    script: tuple[ScriptStep, ...] = ()


class ScenarioMeta(_Model):
    name: str


class Scenario(_Model):
    api_version: Literal["tagent.io/v1"] = "tagent.io/v1"
    kind: Literal["SandboxScenario"] = "SandboxScenario"
    metadata: ScenarioMeta
    spec: ScenarioSpec


def _w(ns: str, name: str, image: str, replicas: int, **kw: Any) -> WorkloadSpec:
    return WorkloadSpec(namespace=ns, name=name, image=image, replicas=replicas, **kw)


def default_scenario() -> Scenario:
    """The cluster of issue 4: three nodes, a small shop, a test environment and CoreDNS.

    A healthy workload uses about 0.2-0.5 of its CPU request, so the default rules stay quiet without a
    fault: `load` (5x) lifts it above high-cpu's 0.8 (the limits leave room for that) and `idle` (0.02x)
    drops it below idle's 0.05."""
    mi = Resources
    workloads = (
        _w("shop", "frontend", "node:20", 3, port=3000, rps=20, latency_ms=35, cpu="120m", memory="180Mi",
           requests=mi(cpu="400m", memory="128Mi"), limits=mi(cpu="500m", memory="256Mi"), startup=1,
           labels={"tier": "frontend"}, calls=("cart", "checkout"),
           paths=("/", "/products", "/products/17", "/api/cart", "/static/app.js")),
        _w("shop", "checkout", "python:3.12", 2, port=8000, rps=6, latency_ms=80, cpu="90m", memory="150Mi",
           requests=mi(cpu="250m", memory="128Mi"), limits=mi(cpu="1", memory="512Mi"),
           labels={"tier": "backend"}, calls=("payment-service", "postgres"),
           paths=("/api/checkout", "/api/checkout/quote", "/healthz")),
        _w("shop", "payment-service", "eclipse-temurin:21", 2, port=8080, rps=4, latency_ms=120, cpu="250m",
           memory="420Mi", requests=mi(cpu="600m", memory="512Mi"), limits=mi(cpu="1", memory="768Mi"),
           startup=3, labels={"tier": "backend"},
           paths=("/api/payments", "/api/payments/authorize", "/actuator/health")),
        _w("shop", "cart", "golang:1.22", 2, port=8080, rps=12, latency_ms=8, cpu="40m", memory="48Mi",
           requests=mi(cpu="80m", memory="64Mi"), limits=mi(memory="128Mi"), startup=1,
           labels={"tier": "backend"}, calls=("redis-cache",), paths=("/api/cart", "/api/cart/items", "/healthz")),
        _w("shop", "redis-cache", "redis:7", 1, port=6379, http=False, latency_ms=1, cpu="20m", memory="64Mi",
           limits=mi(memory="256Mi"), startup=1, labels={"tier": "cache"}),
        _w("shop", "postgres", "postgres:16", 1, kind="StatefulSet", port=5432, http=False, latency_ms=4, cpu="60m",
           memory="256Mi", requests=mi(cpu="250m", memory="512Mi"), limits=mi(memory="1Gi"), startup=3,
           labels={"tier": "database"}, min_available=1),
        _w("test", "test-env", "python:3.12", 1, port=8000, rps=0.5, latency_ms=40, cpu="25m", memory="80Mi",
           labels={"tier": "test"}),
        _w("kube-system", "coredns", "registry.k8s.io/coredns/coredns:v1.11.1", 2, port=53, http=False,
           cpu="5m", memory="20Mi", requests=mi(cpu="100m", memory="70Mi"), limits=mi(memory="170Mi"), startup=1,
           labels={"k8s-app": "kube-dns"}),
    )
    nodes = tuple(NodeSpec(name=f"node-{c}", zone=f"zone-{c}") for c in "abc")
    return Scenario(metadata=ScenarioMeta(name="default"),
                    spec=ScenarioSpec(nodes=nodes, namespaces=("shop", "test"), workloads=workloads))


def generated_scenario(workloads: int, *, replicas: int = 2, per_namespace: int = 100,
                       pods_per_node: int = 250) -> Scenario:
    """A synthetic cluster of `workloads` Deployments (`svc-N` in namespaces `team-M`, `per_namespace` each),
    with enough nodes for their pods: for scale tests and `bench/sandbox_scale.py`."""
    if workloads < 1 or replicas < 0 or per_namespace < 1 or pods_per_node < 1:
        raise ValidationError(f"generated scenario: workloads ({workloads}), per_namespace ({per_namespace}) and "
                              f"pods_per_node ({pods_per_node}) must be positive, replicas ({replicas}) not negative")
    images = ("python:3.12", "node:20", "golang:1.22", "eclipse-temurin:21")
    items = tuple(WorkloadSpec(namespace=f"team-{i // per_namespace}", name=f"svc-{i}", image=images[i % len(images)],
                               replicas=replicas, rps=2.0, startup=1.0) for i in range(workloads))
    count = max(1, -(-workloads * replicas // pods_per_node))
    nodes = tuple(NodeSpec(name=f"node-{i}", zone=f"zone-{'abc'[i % 3]}", pods=str(pods_per_node))
                  for i in range(count))
    return Scenario(metadata=ScenarioMeta(name=f"generated-{workloads}"),
                    spec=ScenarioSpec(nodes=nodes, workloads=items))


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate a decoded YAML document; every problem becomes one `source: field: message` line."""
    try:
        return Scenario.model_validate(data)
    except PydanticValidationError as exc:
        problems = [f"{source}: {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise ValidationError(problems[0], problems) from exc


def load_scenario(path: Path) -> Scenario:
    """Read a scenario YAML file (safe loader); a ValidationError names the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read scenario: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ValidationError(f"{path}: invalid YAML: {exc}") from exc
    return parse_scenario(data, str(path))


def dump_scenario(scenario: Scenario) -> str:
    return yaml.safe_dump(scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=False)


def profile_for(namespace: str, name: str, kind: str, pod_spec: dict[str, Any]) -> WorkloadSpec:
    """A behaviour for a workload created through the API (not in the scenario): guessed from its image."""
    containers = pod_spec.get("containers") or [{}]
    image = str(containers[0].get("image") or "busybox")
    ports = containers[0].get("ports") or []
    port = ports[0].get("containerPort") if ports else None
    http = port is not None and not any(s in image for s in ("redis", "postgres", "mysql", "coredns"))
    return WorkloadSpec(namespace=namespace, name=name, kind="StatefulSet" if kind == "StatefulSet" else "Deployment",
                        image=image, port=port if isinstance(port, int) else None, http=http, rps=2.0)
