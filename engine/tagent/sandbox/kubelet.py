"""The simulated kubelet and scheduler: places pods, runs their containers through start, crash,
CrashLoopBackOff (10s, 20s, 40s ... capped at 5m of sandbox time) and OOMKilled, and reports status.
An image that cannot be pulled (the `bad-image` fault) keeps its container waiting in ErrImagePull, then
ImagePullBackOff, retried with the same back-off."""

from __future__ import annotations

import random
import secrets
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tagent.sandbox import kinds, logs, podstatus, traffic
from tagent.sandbox.clock import parse_time, rfc3339
from tagent.sandbox.events import EventRecorder
from tagent.sandbox.faults import Effects, FaultBook
from tagent.sandbox.hashing import code_hash
from tagent.sandbox.objects import qos_class
from tagent.sandbox.podstate import LOG_LINES, Container, PodState
from tagent.sandbox.quantities import parse_quantity
from tagent.sandbox.scenario import WorkloadSpec, profile_for
from tagent.sandbox.store import Obj, Store

PULL = 1.0  # sandbox seconds from scheduling to container start
FIRST_RESTART = 1.0  # the first restart after a crash is immediate (kubelet shows Error meanwhile)
MAX_BACKOFF = 300.0
BACKOFF_RESET = 600.0
PULL_ERROR_SHOWN = 1.0  # sandbox seconds a failed pull shows ErrImagePull before ImagePullBackOff


@dataclass
class Pull:
    """A container whose image could not be pulled: how often, when last, when to try again."""

    attempts: int
    failed_at: datetime
    retry_at: datetime


class Kubelet:
    def __init__(self, store: Store, recorder: EventRecorder, book: FaultBook,
                 profiles: dict[tuple[str, str], WorkloadSpec], seed: int | None = None) -> None:
        self.store, self.recorder, self.book, self.profiles = store, recorder, book, profiles
        self.pods: dict[str, PodState] = {}
        self._rng = random.Random(seed)
        self._ip_counter = 0
        self._load: Counter[str] | None = None  # pods per node, counted once a tick (see _schedule)
        self.pulls: dict[tuple[str, str], Pull] = {}  # (pod uid, container) -> failed pull

    # -- adoption and scheduling ---------------------------------------------------------------------
    def _owner(self, pod: Obj) -> tuple[str, str]:
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "StatefulSet":
                return ref["name"], "StatefulSet"
            if ref.get("kind") == "ReplicaSet":
                rs = self.store.peek(kinds.REPLICASETS, pod["metadata"]["namespace"], ref["name"])
                for up in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
                    if up.get("kind") == "Deployment":
                        return up["name"], "Deployment"
                return ref["name"], "ReplicaSet"
        return "", "Pod"

    def _adopt(self, pod: Obj, now: datetime, bootstrap: bool) -> PodState:
        m = pod["metadata"]
        workload, kind = self._owner(pod)
        ns = m["namespace"]
        profile = self.profiles.get((ns, workload)) or profile_for(ns, workload or m["name"], kind, pod["spec"])
        labels = m.get("labels") or {}
        containers = []
        for spec in pod["spec"].get("containers") or []:
            limits = (spec.get("resources") or {}).get("limits") or {}
            containers.append(Container(
                name=spec.get("name", "app"), image=spec.get("image", ""),
                limit_memory=parse_quantity(limits["memory"]) if "memory" in limits else None,
                limit_cpu=parse_quantity(limits["cpu"]) if "cpu" in limits else None))
        state = PodState(ns, m["name"], m["uid"], profile, workload, kind,
                         labels.get("pod-template-hash") or labels.get("controller-revision-hash", ""),
                         code_hash(pod["spec"]), now, containers, random.Random(self._rng.random()),
                         qos=qos_class(pod["spec"]))
        if bootstrap:
            state.created = parse_time(m["creationTimestamp"])
        self.pods[m["uid"]] = state
        return state

    def _schedule(self, pod: Obj, state: PodState, now: datetime) -> Obj:
        """Place the pod on the node with the fewest pods (or where the pod already names one)."""
        names = sorted(n["metadata"]["name"] for n in self.store.items(kinds.NODES))
        if not names:
            return pod
        if self._load is None:  # counted once per tick, then kept up to date: linear in the pod count
            self._load = Counter(other.node for other in self.pods.values() if other.node)
        load = self._load
        node = pod["spec"].get("nodeName") or min(names, key=lambda name: load[name])
        load[node] += 1
        self._ip_counter += 1
        index = names.index(node) if node in names else 9
        state.node, state.scheduled_at = node, state.created if state.created < now else now
        state.ip = f"10.244.{index}.{2 + self._ip_counter % 250}"
        if pod["spec"].get("nodeName") == node:
            return pod
        pod = self.store.mutate(kinds.PODS, state.namespace, state.name, _spec_setter("nodeName", node)) or pod
        self.recorder.record(pod, "Normal", "Scheduled",
                             f"Successfully assigned {state.namespace}/{state.name} to {node}")
        return pod

    def node_ip(self, name: str) -> str:
        node = self.store.peek(kinds.NODES, "", name)
        for addr in (node or {}).get("status", {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return str(addr["address"])
        return ""

    # -- the tick ------------------------------------------------------------------------------------
    def tick(self, now: datetime, dt: float, bootstrap: bool = False) -> None:
        pods = self.store.items(kinds.PODS)
        self._load = None
        live = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            live.add(uid)
            state = self.pods.get(uid) or self._adopt(pod, now, bootstrap)
            if not state.node:
                pod = self._schedule(pod, state, now)
            fx = self.effects(state)
            for c in state.containers:
                self._advance(pod, state, c, fx, now, bootstrap)
                traffic.update_usage(state, c, fx, dt)
                self._check_oom(pod, state, c, now)
            traffic.serve(state, fx, now, dt)
            status = podstatus.derive(state, now, self.node_ip(state.node) if state.node else "")
            self.show_pull_failures(state, status, now)
            self.store.set_status(kinds.PODS, state.namespace, state.name, status)
        for uid in set(self.pods) - live:
            self._stopped(self.pods.pop(uid))
            for key in [k for k in self.pulls if k[0] == uid]:
                del self.pulls[key]

    def effects(self, state: PodState) -> Effects:
        if not state.workload:
            return Effects()
        return self.book.effects(state.namespace, state.workload, state.revision, state.code)

    def _advance(self, pod: Obj, state: PodState, c: Container, fx: Effects, now: datetime, bootstrap: bool) -> None:
        if c.status == "creating" and state.node:
            if bootstrap:
                self._start(pod, state, c, state.created + timedelta(seconds=PULL), quiet=True)
            elif now >= (state.scheduled_at or now) + timedelta(seconds=PULL) and self._pulled(pod, state, c, fx, now):
                self._start(pod, state, c, now)
        elif c.status in ("terminated", "backoff") and c.restart_at is not None and now >= c.restart_at:
            self._start(pod, state, c, now)
        elif c.status == "running":
            if fx.crash_after is None:
                c.crash_at = None
            else:
                if c.crash_at is None:
                    planned = (c.started_at or now) + timedelta(seconds=fx.crash_after)
                    c.crash_at = planned if planned > now else now + timedelta(
                        seconds=fx.crash_after * state.rng.uniform(0.2, 1.0))
                if now >= c.crash_at:
                    self._crash(pod, state, c, now, "Error", 1)
            if c.started_at and (now - c.started_at).total_seconds() > BACKOFF_RESET:
                c.backoff = 10.0

    def _pulled(self, pod: Obj, state: PodState, c: Container, fx: Effects, now: datetime) -> bool:
        """Try to pull the container's image (again, once its back-off passed); False while it cannot."""
        key = (state.uid, c.name)
        failed = self.pulls.get(key)
        if failed is not None and now < failed.retry_at:
            return False
        if c.image not in fx.missing_images:
            self.pulls.pop(key, None)
            return True
        attempts = failed.attempts + 1 if failed else 1
        delay = min(10.0 * 2 ** (attempts - 1), MAX_BACKOFF)
        self.pulls[key] = Pull(attempts, now, now + timedelta(seconds=PULL_ERROR_SHOWN + delay))
        path = f"spec.containers{{{c.name}}}"
        self.recorder.record(pod, "Normal", "Pulling", f'Pulling image "{c.image}"', path)
        self.recorder.record(pod, "Warning", "Failed", f'Failed to pull image "{c.image}": {_not_found(c.image)}',
                             path)
        self.recorder.record(pod, "Warning", "Failed", "Error: ErrImagePull", path)
        self.recorder.record(pod, "Normal", "BackOff", f'Back-off pulling image "{c.image}"', path)
        self.recorder.record(pod, "Warning", "Failed", "Error: ImagePullBackOff", path)
        return False

    def show_pull_failures(self, state: PodState, status: Obj, now: datetime) -> None:
        """Put ErrImagePull / ImagePullBackOff into the waiting state of containers whose pull failed."""
        for cs, c in zip(status.get("containerStatuses") or [], state.containers, strict=False):
            failed = self.pulls.get((state.uid, c.name))
            if failed is None or c.status != "creating":
                continue
            if (now - failed.failed_at).total_seconds() < PULL_ERROR_SHOWN:
                cs["state"] = {"waiting": {"reason": "ErrImagePull", "message": _not_found(c.image)}}
            else:
                cs["state"] = {"waiting": {"reason": "ImagePullBackOff",
                                           "message": f'Back-off pulling image "{c.image}": ErrImagePull: '
                                                      f"{_not_found(c.image)}"}}

    def _check_oom(self, pod: Obj, state: PodState, c: Container, now: datetime) -> None:
        limit = c.limit_memory
        if c.status == "running" and limit is not None and c.memory >= limit:
            self.recorder.record(pod, "Warning", "OOMKilling",
                                 f"Memory cgroup out of memory: Killed process {state.rng.randint(1000, 60000)} "
                                 f"({logs.runtime_of(c.image)}) in container {c.name} of pod "
                                 f"{state.namespace}/{state.name}")
            self._crash(pod, state, c, now, "OOMKilled", 137)

    def _start(self, pod: Obj, state: PodState, c: Container, at: datetime, quiet: bool = False) -> None:
        restarted = c.status in ("terminated", "backoff")
        if c.current_terminated:
            c.last_terminated, c.current_terminated = c.current_terminated, None
        c.status, c.started_at, c.crash_at, c.restart_at = "running", at, None, None
        c.container_id = f"containerd://{secrets.token_hex(32)}"
        c.memory = 0.0
        c.logs.extend((at, line) for line in logs.startup_lines(state, c))
        if quiet:
            return
        path = f"spec.containers{{{c.name}}}"
        self.recorder.record(pod, "Normal", "Pulled", f'Container image "{c.image}" already present on machine'
                             if restarted else f'Successfully pulled image "{c.image}"', path)
        self.recorder.record(pod, "Normal", "Created", f"Created container: {c.name}", path)
        self.recorder.record(pod, "Normal", "Started", f"Started container {c.name}", path)

    def _crash(self, pod: Obj, state: PodState, c: Container, now: datetime, reason: str, code: int) -> None:
        c.logs.extend((now, line) for line in logs.crash_lines(state, c, oom=reason == "OOMKilled"))
        c.current_terminated = {"exitCode": code, "reason": reason, "containerID": c.container_id,
                                "startedAt": rfc3339(c.started_at or now),
                                "finishedAt": rfc3339(now)}
        c.previous_logs, c.logs = c.logs, deque(maxlen=LOG_LINES)
        c.restart_count += 1
        c.cpu, c.memory, c.crash_at = 0.0, 0.0, None
        if c.restart_count == 1:
            c.status, c.restart_at = "terminated", now + timedelta(seconds=FIRST_RESTART)
            return
        c.status, c.restart_at = "backoff", now + timedelta(seconds=c.backoff)
        c.backoff_message = (f"back-off {_short(c.backoff)} restarting failed container={c.name} "
                             f"pod={state.name}_{state.namespace}({state.uid})")
        self.recorder.record(pod, "Warning", "BackOff", f"Back-off restarting failed container {c.name} in pod "
                             f"{state.name}_{state.namespace}({state.uid})", f"spec.containers{{{c.name}}}")
        c.backoff = min(c.backoff * 2, MAX_BACKOFF)

    def _stopped(self, state: PodState) -> None:
        gone = {"kind": "Pod", "apiVersion": "v1",
                "metadata": {"name": state.name, "namespace": state.namespace, "uid": state.uid},
                "spec": {"nodeName": state.node}}
        for c in state.containers:
            if c.status == "running":
                self.recorder.record(gone, "Normal", "Killing", f"Stopping container {c.name}",
                                     f"spec.containers{{{c.name}}}")


def _spec_setter(field: str, value: object) -> Callable[[Obj], None]:
    def apply(obj: Obj) -> None:
        obj["spec"][field] = value
    return apply


def _not_found(image: str) -> str:
    ref = image if "/" in image.split(":")[0] else f"docker.io/library/{image}"
    return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": failed to resolve '
            f'reference "{ref}": {ref}: not found')


def _short(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60}s" if s >= 60 else f"{s}s"
