"""Controllers: Deployment -> ReplicaSets (revisions, rolling update) and ReplicaSet -> Pods, plus owner GC.

The rolling update is simplified but keeps what clients observe: the new ReplicaSet is scaled to the
desired count at once, old ones are scaled down as new pods become ready, a ReplicaSet whose template
comes back (rollout undo) is reused with the next revision number, and status/conditions follow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tagent.sandbox import kinds, objects
from tagent.sandbox.events import EventRecorder
from tagent.sandbox.hashing import workload_hash
from tagent.sandbox.store import Obj, Store

REVISION = "deployment.kubernetes.io/revision"


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions")
               or [])


def revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


class Controllers:
    def __init__(self, store: Store, recorder: EventRecorder, created_at: Callable[[], str]) -> None:
        self.store, self.recorder, self.created_at = store, recorder, created_at
        # deployment uid -> (what the rollout looked like, since when): its progress deadline counts from there
        self._progress: dict[str, tuple[tuple[object, ...], datetime]] = {}

    def tick(self) -> None:
        for d in self.store.items(kinds.DEPLOYMENTS):
            self.deployment(d)
        for rs in self.store.items(kinds.REPLICASETS):
            self.replicaset(rs)
        self.collect_garbage()

    # -- Deployment ----------------------------------------------------------------------------------
    def deployment(self, d: Obj) -> None:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        spec = d["spec"]
        desired = int(spec.get("replicas", 1))
        h = workload_hash(d)
        owned = self.store.owned(kinds.REPLICASETS, d["metadata"]["uid"])
        top = max((revision(rs) for rs in owned), default=0)
        new = next((rs for rs in owned if rs["metadata"]["labels"].get("pod-template-hash") == h), None)
        if spec.get("paused"):
            return self._status(d, owned, new)
        if new is None:
            new = objects.replicaset(d, h, top + 1, 0)
            new["metadata"]["creationTimestamp"] = self.created_at()
            new = self.store.create(kinds.REPLICASETS, new)
            owned.append(new)
        elif revision(new) < top:
            new = self.store.mutate(kinds.REPLICASETS, ns, new["metadata"]["name"],
                                    lambda rs: rs["metadata"]["annotations"].__setitem__(REVISION, str(top + 1))) or new
        new_ready = sum(1 for p in self.store.owned(kinds.PODS, new["metadata"]["uid"]) if is_ready(p))
        self._scale(d, new, desired)
        budget = max(0, desired - new_ready)  # old pods keep serving until new ones are ready
        olds = sorted((rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]), key=revision,
                      reverse=True)
        for rs in olds:
            keep = min(int(rs["spec"].get("replicas", 0)), budget)
            budget -= keep
            self._scale(d, rs, keep)
        for rs in olds[spec.get("revisionHistoryLimit", 10):]:
            if int(rs["spec"].get("replicas", 0)) == 0:
                self.store.delete(kinds.REPLICASETS, ns, rs["metadata"]["name"])
        self._status(d, self.store.owned(kinds.REPLICASETS, d["metadata"]["uid"]),
                     self.store.peek(kinds.REPLICASETS, ns, new["metadata"]["name"]))
        rev = str(revision(new))
        if (d["metadata"].get("annotations") or {}).get(REVISION) != rev:
            self.store.mutate(kinds.DEPLOYMENTS, ns, name,
                              lambda o: o["metadata"].setdefault("annotations", {}).__setitem__(REVISION, rev))

    def _scale(self, d: Obj, rs: Obj, replicas: int) -> None:
        current = int(rs["spec"].get("replicas", 0))
        if current == replicas:
            return
        self.store.mutate(kinds.REPLICASETS, rs["metadata"]["namespace"], rs["metadata"]["name"],
                          lambda o: o["spec"].__setitem__("replicas", replicas))
        way = "up" if replicas > current else "down"
        self.recorder.record(d, "Normal", "ScalingReplicaSet",
                             f"Scaled {way} replica set {rs['metadata']['name']} from {current} to {replicas}")

    def _status(self, d: Obj, owned: list[Obj], new: Obj | None) -> None:
        o = self.store.peek(kinds.DEPLOYMENTS, d["metadata"]["namespace"], d["metadata"]["name"])
        if o is None:
            return
        desired = int(o["spec"].get("replicas", 1))
        total = sum(int(rs.get("status", {}).get("replicas", 0)) for rs in owned)
        ready = sum(int(rs.get("status", {}).get("readyReplicas", 0)) for rs in owned)
        updated = int((new or {}).get("status", {}).get("replicas", 0))
        new_ready = int((new or {}).get("status", {}).get("readyReplicas", 0))
        new_name = (new or {}).get("metadata", {}).get("name", "")
        complete = updated == desired and total == desired and new_ready == desired
        progressing = ("NewReplicaSetAvailable", f'ReplicaSet "{new_name}" has successfully progressed.') \
            if complete else ("ReplicaSetUpdated", f'ReplicaSet "{new_name}" is progressing.')
        now = self.created_at()
        old = {c["type"]: c for c in o.get("status", {}).get("conditions") or []}
        # a finished rollout stays finished while every pod is of its ReplicaSet, even when pods crash later
        # (the controller estimates progress only for a rollout that has not completed)
        done = old.get("Progressing", {})
        settled = done.get("reason") == "NewReplicaSetAvailable" and f'"{new_name}"' in done.get("message", "") \
            and total == updated
        if settled:
            progressing = ("NewReplicaSetAvailable", f'ReplicaSet "{new_name}" has successfully progressed.')
        progressed = self._progressed(o, (new_name, updated, new_ready, total, ready, desired), complete or settled)
        if not progressed:
            progressing = ("ProgressDeadlineExceeded", f'ReplicaSet "{new_name}" has timed out progressing.')
        available = ready >= desired - desired // 4

        def cond(type_: str, ok: bool, reason: str, message: str) -> Obj:
            status = "True" if ok else "False"
            prev = old.get(type_)
            same = prev is not None and prev.get("status") == status and prev.get("reason") == reason
            return {"type": type_, "status": status, "reason": reason, "message": message,
                    "lastUpdateTime": prev["lastUpdateTime"] if same and prev else now,
                    "lastTransitionTime": prev["lastTransitionTime"] if same and prev else now}

        status = {"observedGeneration": o["metadata"].get("generation", 1), "replicas": total,
                  "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": ready,
                  "conditions": [
                      cond("Available", available, "MinimumReplicasAvailable" if available
                           else "MinimumReplicasUnavailable", "Deployment has minimum availability."
                           if available else "Deployment does not have minimum availability."),
                      cond("Progressing", progressed, *progressing)]}
        if desired - ready > 0:
            status["unavailableReplicas"] = desired - ready
        self.store.set_status(kinds.DEPLOYMENTS, d["metadata"]["namespace"], d["metadata"]["name"], status)

    def _progressed(self, d: Obj, shape: tuple[object, ...], complete: bool) -> bool:
        """False once a rollout has made no progress (new pods, ready pods, old pods gone) for the Deployment's
        progressDeadlineSeconds of sandbox time, as the deployment controller reports ProgressDeadlineExceeded;
        a complete or paused rollout never times out, and any progress starts the count again."""
        uid, now = d["metadata"]["uid"], self.store.clock.now()
        seen = self._progress.get(uid)
        if seen is None or seen[0] != shape:
            self._progress[uid] = seen = (shape, now)
        deadline = d["spec"].get("progressDeadlineSeconds")
        if complete or d["spec"].get("paused") or not isinstance(deadline, int):
            return True
        return (now - seen[1]).total_seconds() <= deadline

    # -- ReplicaSet ----------------------------------------------------------------------------------
    def replicaset(self, rs: Obj) -> None:
        ns = rs["metadata"]["namespace"]
        pods = self.store.owned(kinds.PODS, rs["metadata"]["uid"])
        desired = int(rs["spec"].get("replicas", 1))
        for _ in range(desired - len(pods)):
            pod = objects.pod(rs, rs["spec"]["template"], None, {})
            pod["metadata"]["creationTimestamp"] = self.created_at()
            created = self.store.create(kinds.PODS, pod)
            pods.append(created)
            self.recorder.record(rs, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        if len(pods) > desired:
            # delete the least useful first: unscheduled, then not ready, then the youngest
            pods.sort(key=lambda p: (bool(p["spec"].get("nodeName")), is_ready(p),
                                     _negated(p["metadata"]["creationTimestamp"])))
            for pod in pods[: len(pods) - desired]:
                self.store.delete(kinds.PODS, ns, pod["metadata"]["name"])
                self.recorder.record(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
            pods = pods[len(pods) - desired:]
        ready = sum(1 for p in pods if is_ready(p))

        current = self.store.peek(kinds.REPLICASETS, ns, rs["metadata"]["name"]) or rs
        self.store.set_status(kinds.REPLICASETS, ns, rs["metadata"]["name"], {
            "replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
            "availableReplicas": ready, "observedGeneration": current["metadata"].get("generation", 1)})

    # -- garbage collection --------------------------------------------------------------------------
    def collect_garbage(self) -> None:
        """Delete objects whose controller owner is gone (background propagation)."""
        uids = {o["metadata"]["uid"] for rt in (kinds.DEPLOYMENTS, kinds.REPLICASETS, kinds.STATEFULSETS)
                for o in self.store.items(rt)}
        for uid in [u for u in self._progress if u not in uids]:
            del self._progress[uid]
        for rt in (kinds.REPLICASETS, kinds.PODS):
            for o in self.store.items(rt):
                refs = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("controller")]
                if refs and all(r.get("uid") not in uids for r in refs):
                    self.store.delete(rt, o["metadata"]["namespace"], o["metadata"]["name"])


def _negated(stamp: str) -> str:
    """Sort key that puts later timestamps first."""
    return "".join(chr(0x10FFFF - ord(ch)) for ch in stamp)
