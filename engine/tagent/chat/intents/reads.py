"""The intents that read: get, logs, metrics, explain. Each is answered at once from live data (the answers import
the cluster client only when they run, so parsing stays light)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tagent.chat import params as p
from tagent.chat.intent import MAX_TAIL, ChatIntent, ChatParams, ChatTarget, Metric, TargetKind
from tagent.chat.intents.spec import KIND, TARGET, AnswerDeps, Cue, IntentSpec, ParamInput, Read, Tool

if TYPE_CHECKING:
    from tagent.chat.answers import Answer

# ---------------------------------------------------------------------------------------------------- get


def _get_command(target: ChatTarget, _params: ChatParams, _labels: Mapping[str, str]) -> str | None:
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


def _get(deps: AnswerDeps, intent: ChatIntent) -> Answer:
    from tagent.chat import answers
    return answers.get(deps.kube, intent)


GET = IntentSpec(
    name="get", verb="show", priority=8,
    cues=(Cue(r"how many", 2.0), Cue(r"list", 2.0), Cue(r"status|state", 2.0), Cue(r"describe", 2.0),
          Cue(r"get", 1.5), Cue(r"count", 1.5), Cue(r"show", 1.0), Cue(r"running", 1.0),
          Cue(r"health|healthy|up|alive|ready", 1.0), Cue(r"check", 1.0),
          Cue(r"which|what is running|are there|is there", 1.0), Cue(r"nodes", 0.5), Cue(r"how (?:is|are)", 1.0),
          Cue(r"doing|looking", 0.5), Cue(r"looks? like", 1.5)),
    kubectl=_get_command, summary=lambda t, _p, _c: f"show {t}", answer=_get,
    tool=Tool("List or show nodes, pods, deployments, namespaces or one workload.", {"kind": KIND, **TARGET},
              ("kind",)),
)

# ---------------------------------------------------------------------------------------------------- logs


def _logs_params(given: ParamInput) -> Read:
    return Read({"tail": min(p.tail_lines(given.tokens) or 100, MAX_TAIL),
                 "since": p.duration_after(given.tokens, ("last", "past", "since", "previous"))})


def _logs_command(target: ChatTarget, params: ChatParams, _labels: Mapping[str, str]) -> str | None:
    if not target.is_workload:
        return None
    ns = f" -n {target.namespace}" if target.namespace else ""
    since = f" --since={params.since}" if params.since else ""
    return f"kubectl logs {target.resource}{ns} --tail={params.tail or 100}{since}"


def _logs(deps: AnswerDeps, intent: ChatIntent) -> Answer:
    from tagent.chat import answers
    return answers.logs(deps.kube, intent)


LOGS = IntentSpec(
    name="logs", verb="show the logs of", priority=1, takes="workload",
    cues=(Cue(r"logs", 4.0), Cue(r"tail", 2.0), Cue(r"stack ?trace", 2.0)),
    params=_logs_params, kubectl=_logs_command,
    summary=lambda t, prm, _c: f"show the last {prm.tail or 100} log lines of {t}"
                               + (f" from the last {prm.since}" if prm.since else ""),
    answer=_logs,
    tool=Tool("Show recent logs of one workload.",
              {**TARGET, "tail": {"type": "integer", "minimum": 1, "maximum": MAX_TAIL},
               "since": {"type": "string", "description": "duration such as 10m or 1h"}}, ("name",),
              params={"tail": 100, "since": None}),
)

# ---------------------------------------------------------------------------------------------------- metrics


def _metrics_command(target: ChatTarget, params: ChatParams, labels: Mapping[str, str]) -> str | None:
    """`kubectl top` shows CPU and memory only; other metrics come from Prometheus, with no kubectl form."""
    if params.metric not in (None, Metric.cpu, Metric.memory):
        return None
    if target.kind is TargetKind.node:
        return f"kubectl top node {target.name}" if target.name else "kubectl top nodes"
    if target.kind is TargetKind.pod or not target.name:
        return f"kubectl top pods -n {target.namespace}" if target.namespace else "kubectl top pods -A"
    return f"kubectl top pods -n {target.namespace} -l app={labels.get('app', target.name)}"


def _metrics(deps: AnswerDeps, intent: ChatIntent) -> Answer:
    from tagent.chat import answers
    return answers.metrics(deps.kube, intent)


METRICS = IntentSpec(
    name="metrics", verb="show metrics of", priority=2, untargeted="nodes",
    cues=(Cue(r"(?:cpu|memory|utili[sz]ation|metrics|top|latency|error_rate|request_rate)", 2.5),
          Cue(r"usage|consum\w*|load|using|hogging|eating|resources", 1.5), Cue(r"restarts", 2.0),
          Cue(p.RESTART_COUNT, 5.0),
          Cue(r"slow|slowness|sluggish", 2.0)),
    params=lambda given: Read({"metric": p.metric(given.tokens)}), kubectl=_metrics_command,
    summary=lambda t, prm, _c: f"show {prm.metric.value.replace('_', ' ') if prm.metric else 'CPU and memory'} "
                               f"of {t}",
    answer=_metrics,
    tool=Tool("Show a metric of a workload, node, or the pods of a namespace.",
              {"kind": KIND, **TARGET, "metric": {"type": "string", "enum": [m.value for m in Metric]}},
              params={"metric": None}),
)

# ---------------------------------------------------------------------------------------------------- explain


def _explain_summary(target: ChatTarget | None, params: ChatParams, _current: int | None) -> str:
    if target is None:
        return "explain the incidents of " + (params.period or "the last 24h")
    return f"explain what happened to {target}" + (f" ({params.period})" if params.period else "")


def _explain(deps: AnswerDeps, intent: ChatIntent) -> Answer:
    from tagent.chat.history import explain
    return explain(deps.store, intent, deps.now, deps.tz)


EXPLAIN = IntentSpec(
    name="explain", verb="explain", priority=7, untargeted="none", clause_confidence=0.7,
    cues=(Cue(r"what happened", 3.5), Cue(r"why", 3.0), Cue(r"explain", 3.5), Cue(r"incidents?", 2.5),
          Cue(r"root cause|rca|post ?mortem|postmortem|outages?|went wrong|went down|what broke", 2.5),
          Cue(r"who (?:deleted|restarted|scaled|changed|broke|did|rolled)", 2.5),
          Cue(r"crash\w*|fail\w*|alert\w*|issue|issues|problem|problems", 1.0)),
    params=lambda given: Read({"period": p.period(given.tokens)}), summary=_explain_summary, answer=_explain,
    tool=Tool("Explain incidents, optionally of one workload and a period.",
              {**TARGET, "period": {"type": "string", "description": "last-night, today, yesterday, this-morning, "
                                                                     "weekend, or a duration such as 24h"}},
              params={"period": None}),
)
