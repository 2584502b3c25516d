"""Workload actions: rollout restart, rollout undo, scale, wait until healthy.

Each mutation is done the way kubectl does it (through KubeClient), after a plan that makes it checkable
after a crash: the restart stamp (kubectl's restartedAt value), the ReplicaSet to return to, the absolute
replica count.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tagent.actions import workloads as wl
from tagent.actions.base import ActionContext, BaseAction
from tagent.clients.kubernetes import KubeClient
from tagent.errors import PermanentError, TransientError
from tagent.model import StepResult, WorkloadRef


class _Workload(BaseAction):
    def kube(self, ctx: ActionContext) -> KubeClient:
        kube: KubeClient = self.kube_of(ctx)
        return kube

    def read(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        return wl.read_workload(self.kube(ctx), values["kind"], values["namespace"], values["name"])


class RolloutRestart(_Workload):
    """`kubectl rollout restart`. The plan is the restartedAt stamp: after a crash the step checks whether
    the pod template already carries it, and re-applying the same stamp never starts a second rollout."""

    name = "kubernetes.rollout_restart"
    in_doubt = "verify"

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        wl.check_kind(values["kind"], "rollout restart")
        now = self.deps.clock()
        current = wl.parse_stamp(wl.template_annotations(self.read(values, ctx)).get(wl.RESTARTED_AT, ""))
        if current is not None and current >= now.replace(microsecond=0):
            now = current + timedelta(seconds=1)  # a second restart within the same second must differ
        return {"stamp": wl.format_stamp(now)}

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        stamp = wl.template_annotations(self.read(values, ctx)).get(wl.RESTARTED_AT)
        return f"the pod template already carries restartedAt={stamp}" if stamp == plan["stamp"] else None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        at = wl.parse_stamp(plan["stamp"])
        stamp = self.kube(ctx).rollout_restart(values["namespace"], values["name"], kind=values["kind"], at=at)
        return self.ok(f"restarted {values['kind'].lower()}/{values['name']} (restartedAt={stamp})", stamp=stamp)


class RolloutUndo(_Workload):
    """`kubectl rollout undo` to the last revision that differs from the current one by more than a restart
    stamp (a restart of a broken version is the same broken version), or to `to_revision`. The plan names
    the ReplicaSet: a rollback renumbers that ReplicaSet's revision, its name stays."""

    name = "kubernetes.rollout_undo"
    in_doubt = "verify"

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        wl.check_kind(values["kind"], "rollout undo", ("Deployment",))
        deployment = self.read(values, ctx)
        current = wl.revision(deployment)
        history = sorted(((wl.revision(rs), rs) for rs in wl.owned_replicasets(self.kube(ctx), deployment)),
                         key=lambda pair: pair[0], reverse=True)
        history = [(rev, rs) for rev, rs in history if rev and rev != current]
        if values.get("to_revision"):
            chosen = next((pair for pair in history if pair[0] == values["to_revision"]), None)
            if chosen is None:
                raise PermanentError(f"rollout undo {values['namespace']}/{values['name']}: "
                                     f"unable to find revision {values['to_revision']}")
        else:
            now = wl.comparable_template(wl.deployment_template(deployment), ignore_restart=True)
            chosen = next((pair for pair in history
                           if wl.comparable_template(wl.rs_template(pair[1]), ignore_restart=True) != now), None)
            if chosen is None:
                raise PermanentError(f"rollout undo {values['namespace']}/{values['name']}: no earlier revision "
                                     "with a different pod template (no rollout history to return to)")
        return {"to_revision": chosen[0], "from_revision": current,
                "replicaset": str((chosen[1].get("metadata") or {}).get("name"))}

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        deployment = self.read(values, ctx)
        target = next((rs for rs in wl.owned_replicasets(self.kube(ctx), deployment)
                       if (rs.get("metadata") or {}).get("name") == plan["replicaset"]), None)
        if target is None:
            return None
        same = (wl.comparable_template(wl.rs_template(target), ignore_restart=False)
                == wl.comparable_template(wl.deployment_template(deployment), ignore_restart=False))
        return f"the deployment already runs the template of {plan['replicaset']}" if same else None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        result = self.kube(ctx).rollout_undo(values["namespace"], values["name"], to_revision=plan["to_revision"])
        return self.ok(result.message, from_revision=result.from_revision, to_revision=result.to_revision,
                       mutated=not result.skipped)


class Scale(_Workload):
    """`kubectl scale`. A `delta` is resolved against the current replicas once, in the plan, within
    min_replicas..max_replicas; scale-downs open a period in the savings ledger and scale-ups close it."""

    name = "kubernetes.scale"
    in_doubt = "verify"

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        wl.check_kind(values["kind"], "scale")
        current = wl.spec_replicas(self.read(values, ctx))
        if values.get("replicas") is not None:
            wanted = int(values["replicas"])
        else:
            low, high = int(values["min_replicas"]), int(values["max_replicas"])
            if low > high:
                raise PermanentError(f"scale: min_replicas {low} is above max_replicas {high}")
            wanted = max(low, min(high, current + int(values["delta"])))
        return {"replicas": wanted, "from_replicas": current}

    def _pods(self, plan: dict[str, Any], values: dict[str, Any]) -> tuple[int, int | None]:
        removed = max(0, int(plan["from_replicas"]) - int(plan["replicas"]))
        return removed, int(plan["from_replicas"]) or None

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        now = wl.spec_replicas(self.read(values, ctx))
        if now == plan["replicas"] and now != plan["from_replicas"]:
            self._ledger(values, plan, ctx)
            return f"replicas already {now}"
        return None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        ref = f"{values['kind'].lower()}/{values['name']}"
        if wl.spec_replicas(self.read(values, ctx)) == plan["replicas"]:
            return self.ok(f"{ref} already has {plan['replicas']} replicas", mutated=False,
                           replicas=plan["replicas"])
        previous = self.kube(ctx).scale(values["kind"], values["namespace"], values["name"], int(plan["replicas"]))
        self._ledger(values, plan, ctx)
        return self.ok(f"scaled {ref} from {previous} to {plan['replicas']} replicas", replicas=plan["replicas"],
                       from_replicas=previous)

    def _ledger(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> None:
        ref = WorkloadRef(kind=values["kind"], namespace=values["namespace"], name=values["name"])
        savings, now = self.deps.store.savings, self.deps.clock()
        before, after = int(plan["from_replicas"]), int(plan["replicas"])
        if after < before:
            recorded = ctx.run_id is not None and any(s.run_id == ctx.run_id and s.target == ref
                                                      for s in savings.list(limit=50))
            if not recorded:
                by = ctx.origin if isinstance(ctx.origin, str) else f"rule {ctx.origin.rule}"
                savings.open(ref, from_replicas=before, to_replicas=after, at=now, run_id=ctx.run_id,
                             reason=f"scaled down by {by}")
        elif after > before:
            savings.close(ref, at=now)


class WaitHealthy(_Workload):
    """`kubectl rollout status` until complete and every replica ready, polling until the step's timeout.
    Healthy means healthy on two polls in a row: a crash-looping pod can look ready for a moment."""

    name = "kubernetes.wait_healthy"
    STABLE_POLLS = 2

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        kind, ns, name = wl.check_kind(values["kind"], "wait_healthy"), values["namespace"], values["name"]
        polls, streak, last = 0, 0, "not checked yet"
        while True:
            polls += 1
            try:
                health = (wl.deployment_health(self.kube(ctx), ns, name) if kind == "Deployment"
                          else wl.statefulset_health(self.read(values, ctx)))
            except TransientError as exc:
                health = wl.Health(False, False, str(exc))
            last = health.message
            streak = streak + 1 if health.healthy else 0
            if streak >= self.STABLE_POLLS:
                return self.ok(health.message, polls=polls)
            if health.stalled:
                return self.failed(f"{kind.lower()}/{name} is stalled: {health.message}", polls=polls)
            if ctx.expired():
                return self.failed(f"{kind.lower()}/{name} not healthy after {ctx.timeout:g}s: {last}", polls=polls)
            if self.wait(ctx, self.deps.poll_interval):
                return self.failed(f"interrupted while waiting for {kind.lower()}/{name}: {last}", polls=polls)


class DeleteDeployment(_Workload):
    """`kubectl delete deployment` (chat asks for the name to be typed back first). After a crash, a deployment
    that is gone (or being deleted) means the deletion already happened."""

    name = "kubernetes.delete_deployment"
    in_doubt = "verify"

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        return WorkloadRef(kind="Deployment", namespace=values["namespace"], name=values["name"],
                           cluster=ctx.target.cluster)

    def _pods(self, plan: dict[str, Any], values: dict[str, Any]) -> tuple[int, int | None]:
        return int(plan.get("replicas", 1)), None

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        deployment = self.kube(ctx).get_deployment_raw(values["namespace"], values["name"])
        return {"uid": str((deployment.get("metadata") or {}).get("uid") or ""),
                "replicas": wl.spec_replicas(deployment)}

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        try:
            deployment = self.kube(ctx).get_deployment_raw(values["namespace"], values["name"])
        except PermanentError:
            return f"deployment {values['namespace']}/{values['name']} is already gone"
        meta = deployment.get("metadata") or {}
        if meta.get("deletionTimestamp") or (plan.get("uid") and meta.get("uid") != plan["uid"]):
            return f"deployment {values['namespace']}/{values['name']} was already deleted"
        return None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        self.kube(ctx).delete_deployment(values["namespace"], values["name"])
        return self.ok(f"deleted deployment {values['namespace']}/{values['name']}")
