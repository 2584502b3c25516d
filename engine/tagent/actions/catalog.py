"""The action catalog as data: every action a playbook step may name, its parameters, whether it mutates,
and its kubectl (or CLI) equivalent for the audit trail.

Validation (tagent.policy) checks playbooks against this table; the implementations (another module)
look their parameters up here too, so a parameter exists in exactly one place. Defaults may be Jinja
templates over `event`, `target`, `rule`, `params`: they are rendered when a step runs. `command` is a
`str.format` template filled with the resolved parameter values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

ParamType = Literal["string", "integer", "number", "boolean", "duration", "mapping", "list"]


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    description: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    mutates: bool
    command: str
    params: tuple[Param, ...] = ()
    exactly_one: tuple[tuple[str, ...], ...] = ()  # groups of parameters of which exactly one is given

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Given values over defaults (templates are left as they are)."""
        return {**{p.name: p.default for p in self.params}, **given}

    def render_command(self, values: Mapping[str, Any]) -> str:
        """The equivalent command line, with resolved (already rendered) values."""
        return self.command.format_map({k: ("" if v is None else v) for k, v in self.resolve(values).items()})


_NS = Param("namespace", "string", "namespace of the workload", default="{{ target.namespace }}")
_NAME = Param("name", "string", "name of the workload", default="{{ target.name }}")
_KIND = Param("kind", "string", "workload kind", default="{{ target.kind }}",
              choices=("Deployment", "StatefulSet"))
_POD = Param("pod", "string", "pod name (the event's pod by default)", default="{{ event.labels.pod }}")
_MESSAGE = Param("message", "string", "text of the notification",
                 default="{{ rule.name }}: {{ event.reason }} on {{ target.namespace }}/{{ target.name }}")
_WORKLOAD = (_NS, _NAME, _KIND)
_REGION = Param("region", "string", "cloud region", default="{{ target.namespace }}")
_INSTANCE = (Param("instance_id", "string", "EC2 instance id", default="{{ target.name }}"), _REGION)

_ACTIONS = (
    Action("kubernetes.rollout_restart", "Restart every pod of a workload (rolling)", mutates=True,
           command="kubectl rollout restart {kind}/{name} -n {namespace}", params=_WORKLOAD),
    Action("kubernetes.delete_pod", "Delete one pod; its controller recreates it", mutates=True,
           command="kubectl delete pod {pod} -n {namespace} --grace-period={grace_period}",
           params=(_NS, _POD, Param("grace_period", "integer", "seconds to terminate gracefully", default=30,
                                    minimum=0, maximum=3600))),
    Action("kubernetes.evict_pod", "Evict one pod through the Eviction API (respects PodDisruptionBudgets)",
           mutates=True,
           command="kubectl create --raw /api/v1/namespaces/{namespace}/pods/{pod}/eviction -f eviction.json",
           params=(_NS, _POD)),
    Action("kubernetes.rollout_undo", "Roll a workload back to its previous (or a given) revision",
           mutates=True, command="kubectl rollout undo {kind}/{name} -n {namespace} --to-revision={to_revision}",
           params=(*_WORKLOAD, Param("to_revision", "integer", "revision to return to; 0 is the previous one",
                                     default=0, minimum=0))),
    Action("kubernetes.scale", "Set a workload's replicas, absolutely or by a delta within bounds", mutates=True,
           command="kubectl scale {kind}/{name} -n {namespace} --replicas={replicas}",
           params=(*_WORKLOAD,
                   Param("replicas", "integer", "desired replicas", minimum=0, maximum=1000),
                   Param("delta", "integer", "change from the current replicas", minimum=-1000, maximum=1000),
                   Param("min_replicas", "integer", "lower bound for a delta", default=1, minimum=0, maximum=1000),
                   Param("max_replicas", "integer", "upper bound for a delta", default=10, minimum=1,
                         maximum=1000)),
           exactly_one=(("replicas", "delta"),)),
    Action("kubernetes.delete_deployment", "Delete a Deployment and its pods (chat, after the name is typed back)",
           mutates=True, command="kubectl delete deployment/{name} -n {namespace}", params=(_NS, _NAME)),
    Action("kubernetes.wait_healthy", "Wait until every replica of a workload is updated and ready",
           mutates=False, command="kubectl rollout status {kind}/{name} -n {namespace}", params=_WORKLOAD),
    Action("redis.flushdb", "Empty one database of the configured Redis", mutates=True,
           command="redis-cli -n {db} FLUSHDB",
           params=(Param("db", "integer", "database number", default=0, minimum=0, maximum=15),)),
    Action("http.request", "Call an HTTP endpoint (hosts must be in allowed_http_hosts)", mutates=True,
           command="curl -sS -X {method} {url}",
           params=(Param("url", "string", "absolute http(s) URL", required=True),
                   Param("method", "string", "HTTP method", default="POST",
                         choices=("GET", "POST", "PUT", "PATCH", "DELETE")),
                   Param("headers", "mapping", "extra request headers", default={}),
                   Param("body", "string", "request body", default=""),
                   Param("expect_status", "integer", "status that counts as success; 0: any 2xx", default=0,
                         minimum=0, maximum=599))),
    Action("prometheus.verify", "Check that a PromQL condition holds (after a fix), polling until it does",
           mutates=False, command="promtool query instant $PROMETHEUS_URL '{query}'",
           params=(Param("query", "string", "PromQL expression returning one value", required=True),
                   Param("op", "string", "comparison", default="<", choices=("<", "<=", ">", ">=", "==", "!=")),
                   Param("value", "number", "threshold", required=True),
                   Param("within", "duration", "how long to keep checking", default="5m"))),
    Action("notify.send", "Send a message to the escalation policy's channels (or the given ones)",
           mutates=False, command="apprise --title '{title}' --body '{message}'",
           params=(_MESSAGE, Param("title", "string", "title", default="Tagent: {{ rule.name }}"),
                   Param("channels", "list", "notification channel names; default: the policy's routes",
                         default=[]))),
    Action("notify.page", "Page the on-call person: notify the channels and place the phone call",
           mutates=False, command="apprise --body '{message}' && twilio call {call}",
           params=(_MESSAGE, Param("call", "string", "phone name; default: the policy's critical route"))),
    Action("approval.request", "Ask a person to approve before the next step; fails when refused",
           mutates=False, command="tagent approve <incident> # {message}",
           params=(Param("message", "string", "what is being approved",
                         default="Approve {{ rule.name }} on {{ target.namespace }}/{{ target.name }}?"),
                   Param("timeout", "duration", "how long to wait; default: the policy's ack_timeout"))),
    Action("wait", "Pause the playbook", mutates=False, command="sleep {duration}",
           params=(Param("duration", "duration", "how long", required=True),)),
    Action("aws.ec2_stop", "Stop an EC2 instance (the saving is recorded from the hourly price table)",
           mutates=True, command="aws ec2 stop-instances --instance-ids {instance_id} --region {region}",
           params=_INSTANCE),
    Action("aws.ec2_start", "Start a stopped EC2 instance", mutates=True,
           command="aws ec2 start-instances --instance-ids {instance_id} --region {region}", params=_INSTANCE),
    Action("aws.ec2_reboot", "Reboot an EC2 instance", mutates=True,
           command="aws ec2 reboot-instances --instance-ids {instance_id} --region {region}", params=_INSTANCE),
    Action("aws.asg_set_capacity",
           "Set an Auto Scaling group's desired capacity within its min/max (a pull request when Terraform manages it)",
           mutates=True,
           command="aws autoscaling set-desired-capacity --auto-scaling-group-name {group} "
                   "--desired-capacity {desired} --region {region}",
           params=(Param("group", "string", "Auto Scaling group name", default="{{ target.name }}"), _REGION,
                   Param("desired", "integer", "desired capacity", required=True, minimum=0, maximum=10000))),
)

CATALOG: Mapping[str, Action] = MappingProxyType({a.name: a for a in _ACTIONS})
"""Every action by name; the closed set that playbooks may use."""


def get(name: str) -> Action | None:
    return CATALOG.get(name)
