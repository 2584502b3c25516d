"""Pod status as the kubelet reports it: phase, conditions and container states from the simulated state."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from tagent.sandbox.clock import rfc3339
from tagent.sandbox.hashing import short_hash
from tagent.sandbox.podstate import Container, PodState

Obj = dict[str, Any]


@functools.lru_cache(maxsize=512)
def image_id(image: str) -> str:
    repo = image.split(":")[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    return f"{repo}@sha256:{short_hash(image, 32).encode().hex()}"


def container_status(c: Container, ready: bool) -> Obj:
    state: Obj
    last: Obj = {}
    if c.status == "creating":
        state = {"waiting": {"reason": "ContainerCreating"}}
    elif c.status == "running":
        state = {"running": {"startedAt": rfc3339(c.started_at)}} if c.started_at else {"running": {}}
        if c.last_terminated:
            last = {"terminated": c.last_terminated}
    elif c.status == "terminated":
        state = {"terminated": c.current_terminated or {"exitCode": 1, "reason": "Error"}}
        if c.last_terminated:
            last = {"terminated": c.last_terminated}
    else:
        state = {"waiting": {"reason": "CrashLoopBackOff", "message": c.backoff_message}}
        if c.current_terminated:
            last = {"terminated": c.current_terminated}
    out: Obj = {"name": c.name, "image": c.image, "imageID": image_id(c.image) if c.container_id else "",
                "ready": ready, "started": c.status == "running", "restartCount": c.restart_count,
                "state": state, "lastState": last}
    if c.container_id:
        out["containerID"] = c.container_id
    return out


def _condition(pod: PodState, type_: str, ok: bool, now: datetime, reason: str | None = None) -> Obj:
    status = "True" if ok else "False"
    prev = pod.transitions.get(type_)
    if prev is None or prev[0] != status:
        pod.transitions[type_] = (status, rfc3339(now))
    cond: Obj = {"type": type_, "status": status, "lastTransitionTime": pod.transitions[type_][1]}
    if reason and not ok:
        cond["reason"] = reason
    return cond


def derive(pod: PodState, now: datetime, host_ip: str) -> Obj:
    """The full `status` of the pod now (the kubelet writes it when it differs from the stored one)."""
    if not pod.node:
        return {"phase": "Pending", "qosClass": pod.qos,
                "conditions": [_condition(pod, "PodScheduled", False, now, "Unschedulable")]}
    readies = {c.name: c.status == "running" and c.started_at is not None
               and (now - c.started_at).total_seconds() >= pod.profile.startup for c in pod.containers}
    all_ready = all(readies.values())
    started_once = all(c.status != "creating" or c.restart_count > 0 for c in pod.containers)
    phase = "Running" if started_once else "Pending"
    not_ready = "ContainersNotReady"
    conditions = [
        _condition(pod, "PodReadyToStartContainers", True, now),
        _condition(pod, "Initialized", True, now),
        _condition(pod, "Ready", all_ready, now, not_ready),
        _condition(pod, "ContainersReady", all_ready, now, not_ready),
        _condition(pod, "PodScheduled", True, now),
    ]
    started = rfc3339(pod.scheduled_at) if pod.scheduled_at else rfc3339(now)
    return {
        "phase": phase, "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": pod.ip, "podIPs": [{"ip": pod.ip}], "startTime": started, "qosClass": pod.qos,
        "containerStatuses": [container_status(c, readies[c.name]) for c in pod.containers],
    }
