"""`BaseAction`: the cross-cutting work every action gets, so that each implementation is only its `_invoke`.

    result = action.run(params, ctx)        # never raises for an expected failure

`run` validates the parameters against the catalog, asks the guard (a refusal becomes `blocked` with the
guard's reason; dry-run becomes `dry_run` with the kubectl equivalent), times the call, reports mutations
to the guard (which closes the ledger reservation and writes the audit record with the kubectl
equivalent), and maps the error tree onto `StepResult.status`:

    TransientError -> failed, data.transient = True (the runner may retry the step)
    PermanentError, ValidationError, ConfigError -> failed (retrying will not help)
    GuardRefusal -> blocked;  TimeoutError -> failed ("timed out after N s")

Crash safety of mutations (see tagent.playbooks for the journal): a mutating action first resolves a *plan*
(absolute values: `delta` -> replicas, revision 0 -> a ReplicaSet, the restart stamp, the pod) and hands it
to `ctx.plans` before it mutates. When the previous attempt of the same step was interrupted
(`ctx.attempt > 1`), the stored plan is recalled and, for actions that can check their effect
(`in_doubt = "verify"`), `_applied` decides whether the mutation already happened: then the step finishes
`ok` without mutating again. Actions whose effect is idempotent by nature (`in_doubt = "repeat"`: scale to
N, FLUSHDB, an HTTP call carrying an Idempotency-Key) are simply applied again with the same plan.

The guard is reached through the `GuardPort` protocol: the guard lives a layer above the actions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol

from tagent.actions.catalog import CATALOG, Action
from tagent.actions.params import validate_params
from tagent.errors import ConfigError, GuardRefusal, PermanentError, TransientError, ValidationError
from tagent.model import Decision, StepResult, StepStatus, WorkloadInfo, WorkloadRef, utcnow
from tagent.store import ActionStatus, Store

log = logging.getLogger(__name__)
InDoubt = Literal["verify", "repeat"]
Clock = Callable[[], datetime]


class VerdictView(Protocol):
    """What an action reads from the guard's verdict (tagent.guard.Verdict satisfies it)."""

    @property
    def allowed(self) -> bool: ...
    @property
    def mode(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def detail(self) -> str: ...


class GuardPort(Protocol):
    """The two guard calls every action makes (tagent.guard.Guard satisfies it)."""

    def check_action(self, origin: Decision | str, action: str, *, mutates: bool, target: WorkloadRef,
                     workload: WorkloadInfo | None = None, pods_affected: int = 1, pods_total: int | None = None,
                     run_id: str | None = None, automatic: bool | None = None) -> VerdictView: ...

    def record_action(self, verdict: Any, result: StepResult, *, mutated: bool = True,
                      incident_id: str | None = None) -> None: ...


class PlanBook(Protocol):
    """Where a step's plan is kept across a crash (the playbook journal implements it)."""

    def recall(self) -> dict[str, Any] | None: ...
    def record(self, plan: dict[str, Any]) -> None: ...


@dataclass
class ActionContext:
    """Everything an action needs to know about why and where it runs. `attempt` > 1 means the previous
    attempt of this very step was interrupted (crash) before its outcome was journaled."""

    origin: Decision | str  # the decision behind an automatic action, or an actor (`chat:alice`, `api:bob`)
    target: WorkloadRef  # what the incident/run is about
    run_id: str | None = None
    incident_id: str | None = None
    step_key: str = ""  # idempotency key of the step (run:section:index)
    attempt: int = 1
    timeout: float = 120.0  # seconds, from the step
    plans: PlanBook | None = None
    routes: tuple[str, ...] = ()  # notification routes of the escalation policy for this severity
    phones: tuple[str, ...] = ()  # phone names of the escalation policy for this severity
    ack_timeout: float = 300.0
    automatic: bool | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    @property
    def in_doubt(self) -> bool:
        return self.attempt > 1

    def remaining(self) -> float:
        return max(0.0, self.timeout - (time.monotonic() - self.started))

    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass
class ActionDeps:
    """What the registry builds actions from. Missing clients make the actions that need them fail with a
    clear `not configured` detail instead of failing to build."""

    store: Store
    guard: GuardPort
    kube: Any = None  # tagent.clients.kubernetes.KubeClient (the home cluster's)
    clusters: Mapping[str, Any] = field(default_factory=dict)  # remote cluster name -> KubeClient
    home_cluster: str = "default"  # the home cluster's name (notifications name the cluster when there are several)
    notifier: Any = None  # tagent.notify.Notifier
    caller: Any = None  # tagent.notify.TwilioCaller
    prometheus: Any = None  # tagent.clients.prometheus.PrometheusClient
    http_transport: Any = None  # httpx.BaseTransport (the test seam; None: the network)
    redis_url: str | None = None
    allowed_http_hosts: tuple[str, ...] = ()
    phones: Mapping[str, str] = field(default_factory=dict)  # phone name -> E.164 number
    dashboard_url: str = "http://127.0.0.1:8501"
    clock: Clock = utcnow
    poll_interval: float = 1.0
    aws: Any = None  # tagent.cloud.aws.AwsCloud (None: AWS is not configured)
    terraform: Any = None  # tagent.cloud.terraform.TerraformProposer (pull requests for Terraform-managed groups)


class BaseAction:
    """Subclasses set `name` (a catalog entry) and implement `_invoke`; mutating ones may add `_plan`,
    `_applied` and `_target`."""

    name: ClassVar[str]
    in_doubt: ClassVar[InDoubt] = "repeat"

    def __init__(self, deps: ActionDeps) -> None:
        self.deps = deps
        self.spec: Action = CATALOG[self.name]

    # -- hooks ----------------------------------------------------------------------------------------
    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        raise NotImplementedError

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        """Resolve relative values into absolute ones before mutating (default: nothing to resolve)."""
        return {}

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        """After an interruption: a sentence saying the planned mutation already happened, or None."""
        return None

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        """What the guard judges (limits, protected namespaces). Default: the workload in the parameters."""
        if values.get("name") and values.get("namespace") is not None:
            return WorkloadRef(kind=values.get("kind") or ctx.target.kind, namespace=values["namespace"],
                               name=values["name"], cluster=ctx.target.cluster)
        return ctx.target

    def _pods(self, plan: dict[str, Any], values: dict[str, Any]) -> tuple[int, int | None]:
        """(pods disrupted, pods in the workload) for the guard's blast radius."""
        return 1, None

    # -- helpers for subclasses -----------------------------------------------------------------------
    def result(self, status: StepStatus, detail: str = "", **data: Any) -> StepResult:
        return StepResult(status=status, detail=detail, data=data)

    def ok(self, detail: str = "", **data: Any) -> StepResult:
        return self.result(StepStatus.ok, detail, **data)

    def failed(self, detail: str, **data: Any) -> StepResult:
        return self.result(StepStatus.failed, detail, **data)

    def kube_of(self, ctx: ActionContext) -> Any:
        """The Kubernetes client of the target's cluster ("" is the home cluster)."""
        cluster = ctx.target.cluster
        if not cluster:
            return self.need(self.deps.kube, "a Kubernetes client")
        if cluster not in self.deps.clusters:
            raise ConfigError(f"{self.name}: unknown cluster {cluster!r} (known: "
                              f"{', '.join(sorted(self.deps.clusters)) or 'only the home cluster'})")
        return self.deps.clusters[cluster]

    def need(self, dep: Any, what: str) -> Any:
        if dep is None:
            raise ConfigError(f"{self.name} needs {what}, which is not configured")
        return dep

    def command(self, values: Mapping[str, Any]) -> str:
        return self.spec.render_command({k: v for k, v in values.items() if k in {p.name for p in self.spec.params}})

    # -- the contract -----------------------------------------------------------------------------------
    def run(self, params: Mapping[str, Any], ctx: ActionContext) -> StepResult:
        """Validate, guard, time, audit and map errors; returns a StepResult for every expected outcome."""
        started, t0 = self.deps.clock(), time.monotonic()
        try:
            values = validate_params(self.spec, params)
        except ValidationError as exc:
            return self._finish(self.failed("invalid parameters: " + "; ".join(exc.problems)), "", started, t0)
        command = self.command(values)
        result = self._mutate(values, ctx) if self.spec.mutates else self._plain(values, ctx)
        return self._finish(result, result.command or command, started, t0)

    def _finish(self, result: StepResult, command: str, started: datetime, t0: float) -> StepResult:
        data = {**result.data, "duration_s": round(time.monotonic() - t0, 3)}
        return result.model_copy(update={"command": command, "data": data, "started_at": started,
                                         "finished_at": self.deps.clock()})

    def _plain(self, values: dict[str, Any], ctx: ActionContext) -> StepResult:
        verdict = self.deps.guard.check_action(ctx.origin, self.name, mutates=False,
                                               target=self._target(values, ctx), run_id=ctx.run_id,
                                               automatic=ctx.automatic)
        if not verdict.allowed:
            return self.result(StepStatus.blocked, f"guard: {verdict.reason}: {verdict.detail}")
        return self._call(lambda: self._invoke(values, {}, ctx), ctx)[0]

    def _mutate(self, values: dict[str, Any], ctx: ActionContext) -> StepResult:
        plan: dict[str, Any] | None = None
        if ctx.in_doubt and ctx.plans is not None:
            plan = ctx.plans.recall()
            if plan is not None and self.in_doubt == "verify":
                try:
                    done = self._applied(plan, values, ctx)
                except (TransientError, PermanentError) as exc:
                    return self.failed(f"cannot check whether the interrupted attempt already acted: {exc}",
                                       transient=isinstance(exc, TransientError), plan=plan)
                if done is not None:
                    self._settle_stale(ctx, ActionStatus.done, self._target(values, ctx))
                    result = self.ok(f"already applied before the interruption: {done}", plan=plan, resumed=True)
                    return result.model_copy(update={"command": self.command({**values, **plan})})
            self._settle_stale(ctx, ActionStatus.released, self._target(values, ctx))
        if plan is None:
            plan_result = self._call(lambda: self.ok(plan=self._plan(values, ctx)), ctx)[0]
            if plan_result.status != StepStatus.ok:
                return plan_result
            plan = dict(plan_result.data["plan"])
            if ctx.plans is not None:
                ctx.plans.record(plan)
        command = self.command({**values, **plan})
        pods, total = self._pods(plan, values)
        verdict = self.deps.guard.check_action(ctx.origin, self.name, mutates=True, target=self._target(values, ctx),
                                               pods_affected=pods, pods_total=total, run_id=ctx.run_id,
                                               automatic=ctx.automatic)
        if not verdict.allowed:
            return self.result(StepStatus.blocked, f"guard: {verdict.reason}: {verdict.detail}", plan=plan) \
                .model_copy(update={"command": command})
        if verdict.mode == "dry_run":
            result = self.result(StepStatus.dry_run, f"dry-run: would run `{command}`", plan=plan)
            result = result.model_copy(update={"command": command})
            self.deps.guard.record_action(verdict, result, mutated=False, incident_id=ctx.incident_id)
            return result
        if verdict.mode != "act":
            return self.result(StepStatus.blocked, f"guard: {verdict.reason}: {verdict.detail}", plan=plan) \
                .model_copy(update={"command": command})
        result, mutated = self._call(lambda: self._invoke(values, plan, ctx), ctx)
        result = result.model_copy(update={"command": command, "data": {**result.data, "plan": plan}})
        mutated = mutated and bool(result.data.get("mutated", True))
        self.deps.guard.record_action(verdict, result, mutated=mutated, incident_id=ctx.incident_id)
        return result

    def _call(self, fn: Callable[[], StepResult], ctx: ActionContext) -> tuple[StepResult, bool]:
        """Run `fn`, mapping the error tree; the flag says whether something may have been mutated."""
        try:
            return fn(), True
        except TransientError as exc:
            return self.failed(f"{exc} (transient: may succeed if retried)", transient=True,
                               retry_after=exc.delay), True
        except PermanentError as exc:
            return self.failed(str(exc)), False
        except (ValidationError, ConfigError) as exc:
            return self.failed(str(exc)), False
        except GuardRefusal as exc:
            return self.result(StepStatus.blocked, f"guard: {exc}"), False
        except TimeoutError as exc:
            return self.failed(f"timed out after {ctx.timeout:g}s: {exc}".rstrip(": "), transient=True), True

    def _settle_stale(self, ctx: ActionContext, status: ActionStatus, target: WorkloadRef) -> None:
        """Close the ledger reservation an interrupted attempt of this step left open."""
        if ctx.run_id is None:
            return
        for record in self.deps.store.actions.list(target_key=target.key, limit=200):
            if record.run_id == ctx.run_id and record.action == self.name and record.status == ActionStatus.reserved:
                self.deps.store.actions.finish(record.id, status, at=self.deps.clock())
                log.info("settled stale reservation %s of %s as %s", record.id, ctx.step_key, status.value)

    def wait(self, ctx: ActionContext, seconds: float) -> bool:
        """Sleep up to `seconds` (never past the deadline); True when the run was told to stop."""
        return ctx.stop.wait(max(0.0, min(seconds, ctx.remaining())))
