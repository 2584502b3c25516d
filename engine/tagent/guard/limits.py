"""Action-level limits, evaluated against the guard's ledger inside one locked transaction.

Every limit is counted from the store, never from memory, so it holds across restarts and replicas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from tagent.guard.verdict import Reason
from tagent.model import WorkloadRef
from tagent.settings import Settings
from tagent.store import LedgerSnapshot, LedgerView
from tagent.store.repos.safety import scope

HOUR = timedelta(hours=1)
# Actions that undo a rollout: a loop of them means the "fix" is not fixing anything.
ROLLBACK_ACTIONS = frozenset({"kubernetes.rollout_undo"})
# Actions that restart pods: the kubelet already restarts crashing containers with a backoff (10s .. 5m);
# restarting the workload more often than that only resets the backoff and hides the crash.
RESTART_ACTIONS = frozenset({"kubernetes.rollout_restart", "kubernetes.delete_pod", "kubernetes.evict_pod"})


@dataclass(frozen=True)
class ActionRequest:
    action: str
    target: WorkloadRef
    pods_affected: int
    pods_total: int | None


def admission_refusal(ledger: LedgerSnapshot, settings: Settings, target: WorkloadRef) -> tuple[Reason, str] | None:
    """The limits a decision meets before any action (rate limits, workloads per window), read from a snapshot of
    the ledger taken once per lifecycle transaction: a decision they refuse is deferred, with no cooldown of its
    own, and retried when the limit allows."""
    if ledger.total >= settings.rate_limit_global_per_hour:
        return Reason.rate_limit_global, (f"{ledger.total} mutations in the last hour "
                                          f"(limit {settings.rate_limit_global_per_hour} per hour)")
    in_ns = ledger.per_namespace.get(scope(target.cluster, target.namespace), 0)
    if in_ns >= settings.rate_limit_namespace_per_hour:
        return Reason.rate_limit_namespace, (f"{in_ns} mutations in namespace {target.namespace or '(none)'}"
                                             f"{_in(target.cluster)} in the last hour "
                                             f"(limit {settings.rate_limit_namespace_per_hour} per hour)")
    limit = settings.blast_radius_workloads_per_window
    touched = ledger.targets_in(target.cluster)  # the blast radius is per cluster
    if target.key not in touched and len(touched) >= limit:
        return Reason.blast_radius_workloads, (f"{len(touched)} workloads already mutated{_in(target.cluster)} in "
                                               f"the last {settings.blast_radius_window:.0f}s (limit {limit})")
    return None


def _in(cluster: str) -> str:
    return f" in cluster {cluster}" if cluster else ""


RATE_REASONS = frozenset({Reason.rate_limit_global, Reason.rate_limit_namespace, Reason.blast_radius_workloads})


def first_refusal(view: LedgerView, settings: Settings, req: ActionRequest, now: datetime) -> \
        tuple[Reason, str] | None:
    """The first limit this action would break, as (reason, detail), or None when it may go ahead."""
    key, ns = req.target.key, req.target.namespace
    if req.action in ROLLBACK_ACTIONS:
        done = view.count_actions(key, ROLLBACK_ACTIONS, now - HOUR)
        if done >= settings.max_rollbacks_per_hour:
            return Reason.rollback_loop, (f"{req.target} was rolled back {done} times in the last hour "
                                          f"(limit {settings.max_rollbacks_per_hour}): a rollback loop; a human "
                                          "should look")
    if req.action in RESTART_ACTIONS and settings.restart_min_interval > 0:
        last = view.last_action_at(key, RESTART_ACTIONS)
        if last is not None and (now - last).total_seconds() < settings.restart_min_interval:
            ago = (now - last).total_seconds()
            return Reason.restart_backoff, (f"{req.target} was restarted {ago:.0f}s ago; restarts are at least "
                                            f"{settings.restart_min_interval:.0f}s apart so the kubelet's own "
                                            "backoff is not reset")
    total = view.count_since(now - HOUR)
    if total >= settings.rate_limit_global_per_hour:
        return Reason.rate_limit_global, (f"{total} mutations in the last hour "
                                          f"(limit {settings.rate_limit_global_per_hour} per hour)")
    cluster = req.target.cluster
    in_ns = view.count_since(now - HOUR, namespace=ns, cluster=cluster)
    if in_ns >= settings.rate_limit_namespace_per_hour:
        return Reason.rate_limit_namespace, (f"{in_ns} mutations in namespace {ns or '(none)'}{_in(cluster)} in the "
                                             f"last hour (limit {settings.rate_limit_namespace_per_hour} per hour)")
    window_start = now - timedelta(seconds=settings.blast_radius_window)
    touched = view.targets_since(window_start, cluster=cluster)  # the blast radius is per cluster
    limit = settings.blast_radius_workloads_per_window
    if key not in touched and len(touched) >= limit:
        return Reason.blast_radius_workloads, (f"{len(touched)} workloads already mutated{_in(cluster)} in the last "
                                               f"{settings.blast_radius_window:.0f}s (limit {limit})")
    if req.pods_total is not None and req.pods_total > 0 and req.pods_affected > 0:
        allowed = max(1, math.floor(settings.blast_radius_pod_fraction * req.pods_total))
        busy = view.pods_in_flight(key, window_start)
        if busy + req.pods_affected > allowed:
            return Reason.blast_radius_pods, (f"{busy + req.pods_affected} of {req.pods_total} pods of {req.target} "
                                              f"would be disrupted at once (limit {allowed}, "
                                              f"{settings.blast_radius_pod_fraction:.0%})")
    return None
