"""The intents that change a workload: scale, restart, rollback, delete. Each needs exactly one named workload, is
confirmed before it runs, and runs its catalog action through the guard (tagent.chat.acting)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tagent.chat import params as p
from tagent.chat.intent import MAX_REPLICAS, ChatIntent, ChatParams, ChatTarget, TargetKind
from tagent.chat.intents.spec import (
    TARGET,
    Action,
    AnswerDeps,
    Ask,
    Cue,
    IntentSpec,
    ParamInput,
    Read,
    ServerVerb,
    Tool,
)
from tagent.model import WorkloadRef

_CHANGE = {2.0: "doubled", 3.0: "tripled", 0.5: "halved"}


def _ns(target: ChatTarget) -> str:
    return f" -n {target.namespace}" if target.namespace else ""


def _base(ref: WorkloadRef) -> dict[str, Any]:
    return {"namespace": ref.namespace, "name": ref.name, "kind": ref.kind}


# ---------------------------------------------------------------------------------------------------- scale

def replicas(given: ParamInput) -> Read | Ask:
    """The replica count a scale message asks for, or the question to ask instead of guessing one."""
    target, current = given.target, given.current

    def ask(text: str, reason: str) -> Ask:
        return Ask(f"{text} How many replicas should {target} have? It runs {current} now.".strip(), reason)

    bad = p.invalid_count(given.text)
    if bad is not None:
        return ask(f"I read {bad.strip()!r}: a replica count is a whole number, 0 or more, and I do not turn "
                   "it into another one.", "invalid_replicas")
    request = p.replica_request(given.tokens)
    if request.unclear:
        return ask(request.unclear, "unclear_replicas")
    if request.stated_from is not None and current is not None and request.stated_from != current:
        return ask(f"You said from {request.stated_from}, but {target} runs {current} now.", "count_mismatch")
    if request.relative and current is not None and not request.exact(current):
        return ask(f"That is not a whole number of replicas from the {current} running now.", "unclear_replicas")
    if request.delta is not None and current is not None and current + request.delta < 0:
        return ask(f"{abs(request.delta)} fewer than the {current} running now is below zero.",
                   "replicas_out_of_range")
    count = request.resolve(current)
    if count is None and p.wakes(given.tokens):
        return ask("Waking it up restores its count from before Tagent scaled it down, if Tagent did.",
                   "restore_replicas")
    if count is None:
        return ask("", "missing_replicas")
    if count > MAX_REPLICAS:
        return ask(f"{count} replicas is over the limit of {MAX_REPLICAS}.", "replicas_out_of_range")
    note = ""
    if request.relative and current is not None:
        change = f"{request.delta:+d}" if request.delta is not None else _CHANGE.get(request.factor or 0, "changed")
        note = f"({change}, from the {current} running now)"
    return Read({"replicas": count}, note)


def _wake(deps: AnswerDeps, intent: ChatIntent) -> ChatIntent:
    from tagent.chat.wake import restore
    return restore(deps.store, intent, deps.tz)


def _scale_command(target: ChatTarget, params: ChatParams, _labels: Mapping[str, str]) -> str | None:
    if not target.is_workload or params.replicas is None:
        return None
    return f"kubectl scale {target.resource}{_ns(target)} --replicas={params.replicas}"


def _scale_summary(target: ChatTarget | None, params: ChatParams, current: int | None) -> str:
    to = "?" if params.replicas is None else str(params.replicas)
    frm = f" from {current}" if current is not None else ""
    return f"scale {target}{frm} to {to} replicas"


SCALE = IntentSpec(
    name="scale", verb="scale", priority=6, takes="workload", mutating=True,
    cues=(Cue(r"scale", 4.0), Cue(r"(?:increase|decrease|reduce|bump|raise|lower|double|triple|halve|add|cut)", 2.0),
          Cue(r"\d+ (?:more |less |fewer |extra )?replicas", 2.5), Cue(r"replicas (?:to )?\d+", 2.5),
          Cue(r"need \d+", 1.5), Cue(r"make (?:it )?\d+", 2.5), Cue(r"set (?:it )?to \d+", 2.0),
          Cue(r"(?:stop|pause|shutdown|shut down|switch off|turn off)", 3.0),
          Cue(r"(?:to|by) \d+", 0.5), Cue(r"spin (?:up|down)", 3.0), Cue(r"\d+ (?:more|extra|fewer|less)", 1.5),
          Cue(r"wake", 4.5), Cue(r"bring(?: \S+){0,3} back", 4.5), Cue(r"restore(?: \S+){0,4} replicas", 4.5),
          # scale-down phrasing with a delete word: "remove 2 pods from checkout", "kill 1 instance"
          Cue(r"delete (?:\d+|couple)(?: more| extra)? replicas", 6.0, overrides=("delete",))),
    params=replicas, kubectl=_scale_command, summary=_scale_summary, followups={"restore_replicas": _wake},
    action=Action("kubernetes.scale", lambda intent, ref: {**_base(ref), "replicas": intent.params.replicas}),
    tool=Tool("Set the replica count of one workload.",
              {**TARGET, "replicas": {"type": "integer", "minimum": 0, "maximum": MAX_REPLICAS}}, ("name", "replicas"),
              params={"replicas": None},
              asks={"replicas": ("How many replicas should {target} have? It runs {current} now.",
                                 "missing_replicas")}),
    server=ServerVerb(r"\b(?:scale|resize|set|grow|shrink|increase|decrease)\b", "aws.asg_set_capacity", "scale",
                      rank=3, params=lambda t, n: {"group": t.name, "region": t.namespace, "desired": n}),
)

# ---------------------------------------------------------------------------------------------------- restart

RESTART = IntentSpec(
    name="restart", verb="restart", priority=5, takes="workload", mutating=True,
    cues=(Cue(r"restart", 4.0), Cue(r"redeploy", 3.0), Cue(r"kick", 2.5), Cue(r"cycle", 2.5), Cue(r"reload", 2.0),
          Cue(r"refresh", 2.0), Cue(r"rollout", 1.5)),
    kubectl=lambda t, _p, _l: f"kubectl rollout restart {t.resource}{_ns(t)}" if t.is_workload else None,
    summary=lambda t, _p, _c: f"restart {t} (rolling restart of its pods)",
    action=Action("kubernetes.rollout_restart", lambda _intent, ref: _base(ref)),
    tool=Tool("Rolling restart of one workload.", TARGET, ("name",)),
    server=ServerVerb(r"\b(?:reboot|restart|bounce)\b", "aws.ec2_reboot", "reboot", rank=0),
)

# ---------------------------------------------------------------------------------------------------- rollback


def _rollback_command(target: ChatTarget, params: ChatParams, _labels: Mapping[str, str]) -> str | None:
    if not target.is_workload:
        return None
    rev = f" --to-revision={params.revision}" if params.revision else ""
    return f"kubectl rollout undo {target.resource}{_ns(target)}{rev}"


ROLLBACK = IntentSpec(
    name="rollback", verb="roll back", priority=3, takes="workload", mutating=True,
    cues=(Cue(r"rollback", 4.0), Cue(r"rollout rollback", 4.0), Cue(r"previous-version", 2.5)),
    params=lambda given: Read({"revision": p.revision(given.tokens)}),
    kubectl=_rollback_command,
    summary=lambda t, prm, _c: f"roll back {t} to "
                               + (f"revision {prm.revision}" if prm.revision else "the previous revision"),
    action=Action("kubernetes.rollout_undo",
                  lambda intent, ref: {**_base(ref), "to_revision": intent.params.revision or 0}),
    tool=Tool("Roll one workload back to its previous (or a given) revision.",
              {**TARGET, "revision": {"type": "integer", "minimum": 1}}, ("name",), params={"revision": None}),
)

# ---------------------------------------------------------------------------------------------------- delete


def _delete_params(_intent: ChatIntent, ref: WorkloadRef) -> dict[str, Any]:
    return {"namespace": ref.namespace, "name": ref.name}


DELETE = IntentSpec(
    name="delete", verb="delete", priority=4, takes="workload", mutating=True, one_at_a_time=True,
    cues=(Cue(r"delete", 4.0),),
    kubectl=lambda t, _p, _l: f"kubectl delete {t.resource}{_ns(t)}" if t.is_workload else None,
    summary=lambda t, _p, _c: f"delete {t} ({t.kind.value if t else ''}, cannot be undone)",
    action=Action("kubernetes.delete_deployment", _delete_params, kinds=frozenset({TargetKind.deployment}),
                  typed_name=True),
    tool=Tool("Delete one workload.", TARGET, ("name",)),
)
