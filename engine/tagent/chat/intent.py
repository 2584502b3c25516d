"""What a chat message means: the `ChatIntent` every parser (deterministic or LLM) must produce.

The model is the contract between understanding and acting. The acting step (guard, actions,
confirmation) only ever sees a `ChatIntent`, so everything it needs is here: the resolved target, the
validated parameters, the kubectl equivalent to show, a one-line human summary, and a `question` that,
when set, means "ask the user, run nothing".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

MAX_REPLICAS = 1000  # the same range RULES.md allows for replicas; the guard may be stricter
MAX_TAIL = 10000


class Intent(StrEnum):
    get = "get"
    scale = "scale"
    restart = "restart"
    rollback = "rollback"
    delete = "delete"
    logs = "logs"
    metrics = "metrics"
    explain = "explain"
    stop = "stop"  # cloud servers only (tagent.chat.cloud)
    start = "start"  # cloud servers only
    unknown = "unknown"


MUTATING: frozenset[Intent] = frozenset({Intent.scale, Intent.restart, Intent.rollback, Intent.delete})
WORKLOAD_INTENTS: frozenset[Intent] = MUTATING | {Intent.logs}
"""Intents that need exactly one workload (Deployment or StatefulSet) as target."""
SERVER_ONLY: frozenset[Intent] = frozenset({Intent.stop, Intent.start})
"""Intents of cloud servers only (tagent.chat.cloud); the LLM fallback, which reads workloads, never proposes them."""


class Metric(StrEnum):
    cpu = "cpu"
    memory = "memory"
    restarts = "restarts"
    request_rate = "request_rate"
    error_rate = "error_rate"
    latency = "latency"


class TargetKind(StrEnum):
    deployment = "Deployment"
    statefulset = "StatefulSet"
    node = "node"
    pod = "pod"
    namespace = "namespace"
    cloud = "cloud"  # a cloud resource Tagent does not manage (an RDS instance, a bucket): never executed
    instance = "Instance"  # a cloud server (an EC2 instance): namespace is the region, name the id
    server_group = "ServerGroup"  # an Auto Scaling group: namespace is the region


WORKLOAD_KINDS: frozenset[TargetKind] = frozenset({TargetKind.deployment, TargetKind.statefulset})


class ChatTarget(BaseModel):
    """A resolved target. `name == ""` means "all of this kind" (all nodes, all pods of a namespace)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: TargetKind
    namespace: str = ""
    name: str = ""
    cluster: str = ""  # named only when the engine watches several clusters (tagent.chat.clusters)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.cluster:
            data.pop("cluster", None)  # the single-cluster contract is unchanged
        return data

    @property
    def is_workload(self) -> bool:
        return self.kind in WORKLOAD_KINDS

    @property
    def resource(self) -> str:
        """kubectl's `kind/name` form, e.g. `deployment/checkout`."""
        return f"{self.kind.value.lower()}/{self.name}"

    def __str__(self) -> str:
        if self.kind in WORKLOAD_KINDS and self.name:
            return f"{self.namespace}/{self.name}" + (f" in cluster {self.cluster}" if self.cluster else "")
        if self.name:
            return f"{self.kind.value} {self.name}"
        return f"all {self.kind.value}s" + (f" in {self.namespace}" if self.namespace else "")


class ChatParams(BaseModel):
    """Validated parameters. Unset ones are None and left out of the JSON contract."""

    model_config = ConfigDict(extra="forbid")

    replicas: int | None = Field(default=None, ge=0, le=MAX_REPLICAS)
    metric: Metric | None = None
    tail: int | None = Field(default=None, ge=1, le=MAX_TAIL)
    since: str | None = None  # logs: a duration such as 10m, 1h
    period: str | None = None  # explain: last-night, today, yesterday, this-morning, or a duration (24h)
    revision: int | None = Field(default=None, ge=1)  # rollback: --to-revision


class ChatIntent(BaseModel):
    """One understood chat message. When `question` is set nothing may run: ask it back."""

    model_config = ConfigDict(extra="forbid")

    text: str
    intent: Intent
    target: ChatTarget | None = None
    params: ChatParams = Field(default_factory=ChatParams)
    command: str | None = None
    requires_confirmation: bool = False
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    question: str | None = None
    question_reason: str | None = None  # not_understood | missing_target | unknown_target | ambiguous_target |
    # unknown_namespace | unsupported_target | missing_replicas | unclear_replicas | replicas_out_of_range | llm_*
    summary: str = ""
    current_replicas: int | None = None  # from the inventory, for the summary and relative scaling
    candidates: list[ChatTarget] = Field(default_factory=list)  # when the target was ambiguous
    source: str = "parser"  # parser | llm
    notes: list[str] = Field(default_factory=list)  # why the LLM answer was not used, etc.

    @property
    def actionable(self) -> bool:
        """True when the next step may act (after confirmation for mutating intents)."""
        return self.question is None and self.intent is not Intent.unknown

    def contract(self, answer: str | None = None) -> dict[str, Any]:
        """The JSON shape of CLI.md: `{intent, target, params, command, requires_confirmation, answer}`."""
        return {
            "intent": self.intent.value,
            "target": None if self.target is None else self.target.model_dump(mode="json"),
            "params": self.params.model_dump(mode="json", exclude_none=True),
            "command": self.command,
            "requires_confirmation": self.requires_confirmation,
            "answer": answer if answer is not None else (self.question or self.summary),
        }


def kubectl_command(intent: Intent, target: ChatTarget | None, params: ChatParams,
                    labels: dict[str, str] | None = None) -> str | None:
    """The kubectl equivalent of CLI.md's table, or None where there is none (explain, unknown)."""
    if target is None or intent in (Intent.explain, Intent.unknown):
        return None
    ns = f" -n {target.namespace}" if target.namespace else ""
    if intent is Intent.get:
        return _get_command(target)
    if not target.is_workload and intent is not Intent.metrics:
        return None
    if intent is Intent.scale:
        return None if params.replicas is None else f"kubectl scale {target.resource}{ns} --replicas={params.replicas}"
    if intent is Intent.restart:
        return f"kubectl rollout restart {target.resource}{ns}"
    if intent is Intent.rollback:
        rev = f" --to-revision={params.revision}" if params.revision else ""
        return f"kubectl rollout undo {target.resource}{ns}{rev}"
    if intent is Intent.delete:
        return f"kubectl delete {target.resource}{ns}"
    if intent is Intent.logs:
        since = f" --since={params.since}" if params.since else ""
        return f"kubectl logs {target.resource}{ns} --tail={params.tail or 100}{since}"
    return _metrics_command(target, params, labels or {})


def _get_command(target: ChatTarget) -> str:
    if target.kind is TargetKind.node:
        return f"kubectl get node {target.name}" if target.name else "kubectl get nodes"
    if target.kind is TargetKind.namespace:
        return "kubectl get namespaces"
    if target.kind is TargetKind.pod:
        return f"kubectl get pods -n {target.namespace}" if target.namespace else "kubectl get pods -A"
    if not target.name:  # every Deployment (of a namespace): "list deployments"
        plural = f"{target.kind.value.lower()}s"
        return f"kubectl get {plural} -n {target.namespace}" if target.namespace else f"kubectl get {plural} -A"
    return f"kubectl get {target.resource} -n {target.namespace}"


def _metrics_command(target: ChatTarget, params: ChatParams, labels: dict[str, str]) -> str | None:
    """`kubectl top` shows CPU and memory only; other metrics come from Prometheus, with no kubectl form."""
    if params.metric not in (None, Metric.cpu, Metric.memory):
        return None
    if target.kind is TargetKind.node:
        return f"kubectl top node {target.name}" if target.name else "kubectl top nodes"
    if target.kind is TargetKind.pod or not target.name:
        return f"kubectl top pods -n {target.namespace}" if target.namespace else "kubectl top pods -A"
    app = labels.get("app", target.name)
    return f"kubectl top pods -n {target.namespace} -l app={app}"


def summarise(intent: Intent, target: ChatTarget | None, params: ChatParams, current: int | None) -> str:
    """A one-line human summary, e.g. "scale shop/payment-service from 2 to 10 replicas"."""
    if target is None:
        if intent is Intent.explain:
            return "explain the incidents of " + (params.period or "the last 24h")
        return ""
    if intent is Intent.scale:
        to = "?" if params.replicas is None else str(params.replicas)
        frm = f" from {current}" if current is not None else ""
        return f"scale {target}{frm} to {to} replicas"
    if intent is Intent.restart:
        return f"restart {target} (rolling restart of its pods)"
    if intent is Intent.rollback:
        rev = f"revision {params.revision}" if params.revision else "the previous revision"
        return f"roll back {target} to {rev}"
    if intent is Intent.delete:
        return f"delete {target} ({target.kind.value}, cannot be undone)"
    if intent is Intent.logs:
        since = f" from the last {params.since}" if params.since else ""
        return f"show the last {params.tail or 100} log lines of {target}{since}"
    if intent is Intent.metrics:
        metric = params.metric.value.replace("_", " ") if params.metric else "CPU and memory"
        return f"show {metric} of {target}"
    if intent is Intent.explain:
        period = f" ({params.period})" if params.period else ""
        return f"explain what happened to {target}{period}"
    if intent is Intent.get:
        return f"show {target}"
    return ""
