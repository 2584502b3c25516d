"""The StatefulSet controller: ordinal pods (name-0, name-1 ...), created in order, rolled from the top."""

from __future__ import annotations

from collections.abc import Callable

from tagent.sandbox import kinds, objects
from tagent.sandbox.controllers import is_ready
from tagent.sandbox.events import EventRecorder
from tagent.sandbox.hashing import workload_hash
from tagent.sandbox.store import Obj, Store

REVISION_LABEL = "controller-revision-hash"


class StatefulSetController:
    def __init__(self, store: Store, recorder: EventRecorder, created_at: Callable[[], str]) -> None:
        self.store, self.recorder, self.created_at = store, recorder, created_at

    def tick(self) -> None:
        for sts in self.store.items(kinds.STATEFULSETS):
            self.reconcile(sts)

    def reconcile(self, sts: Obj) -> None:
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        desired = int(sts["spec"].get("replicas", 1))
        update = f"{name}-{workload_hash(sts)}"
        pods = {p["metadata"]["name"]: p for p in self.store.owned(kinds.PODS, sts["metadata"]["uid"])}
        ordered = sts["spec"].get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        # scale down from the highest ordinal
        for pod_name in sorted(pods, key=_ordinal, reverse=True):
            if _ordinal(pod_name) >= desired:
                self.store.delete(kinds.PODS, ns, pod_name)
                self.recorder.record(sts, "Normal", "SuccessfulDelete",
                                     f"delete Pod {pod_name} in StatefulSet {name} successful")
                del pods[pod_name]
                if ordered:
                    break
        # create missing ordinals in order; OrderedReady waits for the previous one to be ready
        for i in range(desired):
            pod_name = f"{name}-{i}"
            if pod_name in pods:
                if ordered and not is_ready(pods[pod_name]):
                    break
                continue
            pod = objects.pod(sts, sts["spec"]["template"], pod_name,
                              {REVISION_LABEL: update, "statefulset.kubernetes.io/pod-name": pod_name,
                               "apps.kubernetes.io/pod-index": str(i)})
            pod["metadata"]["creationTimestamp"] = self.created_at()
            pod["spec"]["hostname"], pod["spec"]["subdomain"] = pod_name, sts["spec"].get("serviceName", name)
            pods[pod_name] = self.store.create(kinds.PODS, pod)
            self.recorder.record(sts, "Normal", "SuccessfulCreate",
                                 f"create Pod {pod_name} in StatefulSet {name} successful")
            if ordered:
                break
        # rolling update: replace the highest outdated pod once every pod is ready
        outdated = [n for n, p in pods.items() if (p["metadata"].get("labels") or {}).get(REVISION_LABEL) != update]
        if outdated and all(is_ready(p) for p in pods.values()):
            victim = max(outdated, key=_ordinal)
            self.store.delete(kinds.PODS, ns, victim)
            del pods[victim]
        revisions = [(p["metadata"].get("labels") or {}).get(REVISION_LABEL, "") for p in pods.values()]
        older = [r for r in revisions if r != update]
        current = older[0] if older else update  # the revision being replaced, until none is left
        ready = sum(1 for p in pods.values() if is_ready(p))
        self.store.set_status(kinds.STATEFULSETS, ns, name, {
            "observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods), "readyReplicas": ready,
            "currentReplicas": revisions.count(current), "updatedReplicas": revisions.count(update),
            "availableReplicas": ready, "currentRevision": current, "updateRevision": update, "collisionCount": 0})


def _ordinal(pod_name: str) -> int:
    tail = pod_name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1
