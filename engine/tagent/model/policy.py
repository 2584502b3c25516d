"""Rules, playbooks and escalation policies: the YAML documents of shared/design/RULES.md.

Every model forbids unknown fields: a typo must not silently disable a safety setting.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tagent.model.core import Mode, Severity
from tagent.model.duration import Duration

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
API_VERSION = "tagent.io/v1"
Op = Literal["<", "<=", ">", ">=", "==", "!="]
NAMED_METRICS = ("cpu_utilization", "memory_utilization", "restarts", "request_rate", "error_rate",
                 "latency_p99")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Metadata(_Strict):
    name: str = Field(min_length=1, max_length=63)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _dns(cls, v: str) -> str:
        if not DNS1123.match(v):
            raise ValueError(f"name {v!r} is not a DNS-1123 label (lower case letters, digits and '-')")
        return v


class MatchScope(_Strict):
    namespaces: list[str] = Field(default_factory=list)
    # cluster names (TAGENT_CLUSTER_NAME for the home one, TAGENT_CLUSTERS for the others); empty: every cluster
    clusters: list[Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]] = Field(
        default_factory=list)
    selector: dict[str, str] = Field(default_factory=dict)
    kinds: list[str] = Field(default_factory=list)


class KubernetesCond(_Strict):
    reason: str = Field(min_length=1)
    type: Literal["Normal", "Warning"] | None = None  # Kubernetes Event type


class MetricsCond(_Strict):
    name: Literal["cpu_utilization", "memory_utilization", "restarts", "request_rate", "error_rate",
                  "latency_p99"]
    op: Op
    value: float
    for_: Duration = Field(default=0.0, alias="for", ge=0)


class PrometheusCond(_Strict):
    query: str = Field(min_length=1)
    op: Op
    value: float
    for_: Duration = Field(default=0.0, alias="for", ge=0)


class LogsCond(_Strict):
    pattern: str = Field(min_length=1)
    count: str = Field(pattern=r"^\s*(<=|>=|<|>|==)?\s*\d+\s*$")
    window: Duration = Field(gt=0)

    @field_validator("pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {v!r}: {exc}") from exc
        return v

    def threshold(self) -> tuple[str, int]:
        m = re.match(r"^\s*(<=|>=|<|>|==)?\s*(\d+)\s*$", self.count)
        assert m is not None
        return (m.group(1) or ">="), int(m.group(2))


class AlertCond(_Strict):
    alertname: str = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)


class CloudCond(_Strict):
    """A cloud metric of an instance or Auto Scaling group over a window (CloudWatch for AWS)."""

    provider: Literal["aws"] = "aws"
    resource: Literal["instance", "group"]
    metric: str = Field(default="CPUUtilization", pattern=r"^[A-Za-z0-9_.:/-]{1,255}$")
    statistic: Literal["average", "maximum"] = "average"
    op: Op
    value: float
    over: Duration = Field(default=3600.0, ge=300, le=14 * 86400)


TRACE_METRICS = ("rate_per_s", "error_ratio", "p50_ms", "p95_ms", "p99_ms")


class TracesCond(_Strict):
    """A service's request rate, error ratio or latency computed from its spans over `window` (RED)."""

    service: str | None = None  # NAMESPACE/NAME (service.namespace/service.name); default: every service in scope
    metric: Literal["rate_per_s", "error_ratio", "p50_ms", "p95_ms", "p99_ms"]
    op: Op
    value: float
    for_: Duration = Field(default=0.0, alias="for", ge=0)
    window: Duration = Field(default=300.0, ge=10, le=86400)
    min_requests: int = Field(default=10, ge=0, le=1_000_000)  # fewer requests in the window: no verdict

    @field_validator("service")
    @classmethod
    def _service(cls, v: str | None) -> str | None:
        namespace, _, name = (v or "").partition("/")
        if v is not None and not (DNS1123.match(namespace) and re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", name)):
            raise ValueError(f"service {v!r} is not NAMESPACE/NAME, e.g. shop/checkout")
        return v


CONDITION_KEYS = ("kubernetes", "metrics", "prometheus", "logs", "alert", "cloud", "traces")


class Condition(_Strict):
    """Exactly one of the keys below."""

    kubernetes: KubernetesCond | None = None
    metrics: MetricsCond | None = None
    prometheus: PrometheusCond | None = None
    logs: LogsCond | None = None
    alert: AlertCond | None = None
    cloud: CloudCond | None = None
    traces: TracesCond | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        set_keys = [k for k in CONDITION_KEYS if getattr(self, k) is not None]
        if len(set_keys) != 1:
            raise ValueError(f"a condition needs exactly one of {', '.join(CONDITION_KEYS)};"
                             f" got {', '.join(set_keys) or 'none'}")
        return self

    @property
    def key(self) -> str:
        for k in CONDITION_KEYS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("unreachable")


class When(Condition):
    """A single condition, or `all` (in order, optionally `within` a window)."""

    all: list[Condition] | None = Field(default=None, min_length=2, max_length=10)
    within: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> When:
        singles = [k for k in CONDITION_KEYS if getattr(self, k) is not None]
        if self.all is not None:
            if singles:
                raise ValueError(f"use either `all` or a single condition, not both (found {singles[0]})")
        elif len(singles) != 1:
            raise ValueError(f"`when` needs exactly one of {', '.join(CONDITION_KEYS)}, all;"
                             f" got {', '.join(singles) or 'none'}")
        if self.within is not None and self.all is None:
            raise ValueError("`within` only applies to `all`")
        return self

    @property
    def conditions(self) -> list[Condition]:
        return list(self.all) if self.all is not None else [Condition(**{self.key: getattr(self, self.key)})]


class Then(_Strict):
    playbook: str | None = Field(default=None, min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class RuleSpec(_Strict):
    description: str = ""
    severity: Severity = Severity.warning
    match: MatchScope = Field(default_factory=MatchScope)
    when: When
    then: Then = Field(default_factory=Then)
    mode: Mode = Mode.auto
    cooldown: Duration = Field(default=600.0, ge=0, le=30 * 86400)
    enabled: bool = True

    @model_validator(mode="after")
    def _playbook_needed(self) -> RuleSpec:
        if self.mode != Mode.notify and not self.then.playbook:
            raise ValueError(f"mode {self.mode.value} needs then.playbook (use mode: notify to only tell)")
        return self


class ParamSpec(_Strict):
    type: Literal["string", "integer", "number", "boolean"] = "string"
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    enum: list[Any] | None = None
    description: str = ""


class Step(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=63)
    action: str = Field(min_length=1)
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    timeout: Duration = Field(default=120.0, gt=0, le=86400)
    retries: int = Field(default=0, ge=0, le=10)


class PlaybookSpec(_Strict):
    description: str = ""
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1, max_length=50)
    on_failure: list[Step] = Field(default_factory=list, max_length=20)


class Route(_Strict):
    severity: list[Severity] = Field(min_length=1)
    notify: list[str] = Field(default_factory=list)
    call: str | None = None


def known_timezone(name: str) -> str:
    """`name` when it is an IANA time zone this machine knows (a pydantic validator's body)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc
    return name


class NightWindow(_Strict):
    from_: str = Field(alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    to: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return known_timezone(v)


class EscalationPolicySpec(_Strict):
    night: NightWindow | None = None
    routes: list[Route] = Field(default_factory=list)
    ack_timeout: Duration = Field(default=300.0, gt=0, le=86400)
    on_no_ack: Literal["remediate", "wait"] = "remediate"


class _Doc(_Strict):
    api_version: Literal["tagent.io/v1"] = Field(alias="apiVersion")
    metadata: Metadata

    @property
    def name(self) -> str:
        return self.metadata.name


class Rule(_Doc):
    kind: Literal["Rule"]
    spec: RuleSpec


class Playbook(_Doc):
    kind: Literal["Playbook"]
    spec: PlaybookSpec


class EscalationPolicy(_Doc):
    kind: Literal["EscalationPolicy"]
    spec: EscalationPolicySpec


Document = Annotated[Rule | Playbook | EscalationPolicy, Field(discriminator="kind")]
KINDS = ("Rule", "Playbook", "EscalationPolicy")


def condition_key(rule_name: str, index: int = 0) -> str:
    """The key a source puts in `Event.reason` for a rule-specific condition (a PromQL query, a log pattern):
    the rule's name and the condition's index in `When.conditions`."""
    return f"{rule_name}#{index}"
