"""What a chat message means: the `ChatIntent` every parser (deterministic or LLM) must produce.

The model is the contract between understanding and acting. The acting step (guard, actions,
confirmation) only ever sees a `ChatIntent`, so everything it needs is here: the resolved target, the
validated parameters, the kubectl equivalent to show, a one-line human summary, and a `question` that,
when set, means "ask the user, run nothing". What each intent means (its cues, parameters, kubectl
equivalent, answer or action, LLM tool) is its entry of the intent table, tagent.chat.intents.
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


IntentName = Intent | str
"""An intent of the table (tagent.chat.intents): the built-in ones as `Intent`, an added entry by its name."""


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
    intent: IntentName = Field(union_mode="left_to_right")  # an Intent when it is one of the built-in names
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
        return self.question is None and self.intent != Intent.unknown

    def contract(self, answer: str | None = None) -> dict[str, Any]:
        """The JSON shape of CLI.md: `{intent, target, params, command, requires_confirmation, answer}`."""
        return {
            "intent": str(self.intent),
            "target": None if self.target is None else self.target.model_dump(mode="json"),
            "params": self.params.model_dump(mode="json", exclude_none=True),
            "command": self.command,
            "requires_confirmation": self.requires_confirmation,
            "answer": answer if answer is not None else (self.question or self.summary),
        }
