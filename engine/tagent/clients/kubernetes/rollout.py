"""Rollout state of a Deployment, decided exactly as `kubectl rollout status` decides it (pure)."""

from __future__ import annotations

from tagent.clients.kubernetes.types import DeploymentInfo, RolloutStatus

DEADLINE_EXCEEDED = "ProgressDeadlineExceeded"


def rollout_status_of(d: DeploymentInfo) -> RolloutStatus:
    complete, stalled = False, False
    if d.generation > d.observed_generation:
        message = "waiting for the deployment spec update to be observed"
    elif d.conditions.get("Progressing", ("", ""))[1] == DEADLINE_EXCEEDED:
        stalled = True
        message = f"deployment {d.ref.name!r} exceeded its progress deadline"
    elif d.updated_replicas < d.replicas:
        message = f"{d.updated_replicas} out of {d.replicas} new replicas have been updated"
    elif d.status_replicas > d.updated_replicas:
        message = f"{d.status_replicas - d.updated_replicas} old replicas are pending termination"
    elif d.available_replicas < d.updated_replicas:
        message = f"{d.available_replicas} of {d.updated_replicas} updated replicas are available"
    else:
        complete = True
        message = f"deployment {d.ref.name!r} successfully rolled out"
    return RolloutStatus(ref=d.ref, complete=complete, stalled=stalled, replicas=d.replicas,
                         updated_replicas=d.updated_replicas, ready_replicas=d.ready_replicas,
                         available_replicas=d.available_replicas, revision=d.revision, message=message)
