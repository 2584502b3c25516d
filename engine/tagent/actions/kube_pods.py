"""Pod actions: delete one pod, evict one pod through the Eviction API.

The plan names the pod and when it started: after a crash, a pod that is gone, terminating, or was
replaced by a newer pod of the same name (StatefulSets reuse names) means the deletion already happened.
Without a `pod` parameter the worst pod of the target workload is chosen (not ready, most restarts).
"""

from __future__ import annotations

from typing import Any

from tagent.actions import workloads as wl
from tagent.actions.base import ActionContext, BaseAction
from tagent.clients.kubernetes import KubeClient, PodInfo
from tagent.errors import PermanentError, TransientError
from tagent.model import StepResult, WorkloadRef


class _Pod(BaseAction):
    in_doubt = "verify"

    def kube(self, ctx: ActionContext) -> KubeClient:
        kube: KubeClient = self.kube_of(ctx)
        return kube

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        # limits (restart backoff, blast radius) count per workload: a pod of the incident's workload is judged
        # as that workload; any other pod as itself
        if ctx.target.namespace == values["namespace"] and ctx.target.kind in wl.KINDS:
            return ctx.target
        return WorkloadRef(kind="Pod", namespace=values["namespace"], name=values.get("pod") or "?",
                           cluster=ctx.target.cluster)

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        pod = self._choose(values, ctx)
        started = pod.start_time.isoformat() if pod.start_time else ""
        return {"pod": pod.name, "pod_started": started}

    def _choose(self, values: dict[str, Any], ctx: ActionContext) -> PodInfo:
        if values.get("pod"):
            return self.kube(ctx).get_pod(values["namespace"], values["pod"])
        target = ctx.target
        if target.kind not in wl.KINDS or target.namespace != values["namespace"]:
            raise PermanentError(f"{self.name}: no pod given and the target {target} is not a workload")
        pods = [p for p in wl.pods_of(self.kube(ctx), wl.read_workload(self.kube(ctx), target.kind, target.namespace,
                                                                       target.name)) if not p.deleting]
        if not pods:
            raise PermanentError(f"{self.name}: {target} has no pod")
        return sorted(pods, key=lambda p: (p.ready, -p.restarts, p.name))[0]

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        try:
            pod = self.kube(ctx).get_pod(values["namespace"], plan["pod"])
        except PermanentError:
            return f"pod {plan['pod']} is already gone"
        if pod.deleting:
            return f"pod {plan['pod']} is already terminating"
        started = pod.start_time.isoformat() if pod.start_time else ""
        if plan.get("pod_started") and started and started != plan["pod_started"]:
            return f"pod {plan['pod']} was already replaced"
        return None


class DeletePod(_Pod):
    name = "kubernetes.delete_pod"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        self.kube(ctx).delete_pod(values["namespace"], plan["pod"], grace_period_seconds=values["grace_period"])
        return self.ok(f"deleted pod {values['namespace']}/{plan['pod']}", pod=plan["pod"])


class EvictPod(_Pod):
    """The Eviction API honours PodDisruptionBudgets: a refusal (HTTP 429) means "not now", so the eviction is
    retried until the step's timeout; only then does the step fail."""

    name = "kubernetes.evict_pod"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        tries = 0
        while True:
            tries += 1
            try:
                self.kube(ctx).evict_pod(values["namespace"], plan["pod"])
                return self.ok(f"evicted pod {values['namespace']}/{plan['pod']}", pod=plan["pod"], tries=tries)
            except TransientError as exc:
                budget = "HTTP 429" in str(exc)
                if ctx.expired() or self.wait(ctx, max(self.deps.poll_interval, min(exc.delay, 5.0))):
                    why = "its PodDisruptionBudget kept refusing" if budget else "the API kept failing"
                    return self.failed(f"could not evict {values['namespace']}/{plan['pod']} within "
                                       f"{ctx.timeout:g}s: {why} ({exc})", tries=tries, mutated=False)
