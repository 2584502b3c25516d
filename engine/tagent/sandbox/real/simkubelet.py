"""The simulated kubelet as a client of a real API server: the emulator's `Kubelet` (the same container
state machine, faults, traffic and events) runs on a private mirror of the pods bound to the scenario's
nodes, and what it decides goes back through the API as a kubelet's writes.

    real pods (watch) ──> mirror Store ──> Kubelet.tick ──> status ──> PATCH pods/status (JSON patch, uid test)
    sandbox-faults ConfigMap (watch) ──> FaultBook          events ──> POST/PATCH core/v1 events
    deletionTimestamp (a controller deleted the pod) ──> containers stopped ──> DELETE grace 0 (uid precondition)

The mirror is never served: it holds what this kubelet knows (pods with their spec and labels, a stub
ReplicaSet per owner so the kubelet finds the Deployment, the nodes). The real scheduler binds pods; pods
not yet bound are left to it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient, WatchEvent
from tagent.clients.kubernetes.mutations import JSON_PATCH, MERGE
from tagent.errors import ExternalError
from tagent.sandbox import kinds, objects
from tagent.sandbox.clock import SandboxClock, rfc3339
from tagent.sandbox.events import EventRecorder
from tagent.sandbox.faults import FaultBook
from tagent.sandbox.kubelet import Kubelet
from tagent.sandbox.real import faults as real_faults
from tagent.sandbox.real.nodes import node_ip
from tagent.sandbox.scenario import Scenario
from tagent.sandbox.store import Change, Obj, Store

log = logging.getLogger("tagent.sandbox.real")
TICK = 0.1  # wall seconds between kubelet ticks when nothing happens
Key = tuple[str, str]


class SimKubelet:
    def __init__(self, kube: KubeClient, scenario: Scenario, seed: int | None = None) -> None:
        self.kube = kube
        kube.resources["configmaps"] = (kube.core.list_config_map_for_all_namespaces,
                                        kube.core.list_namespaced_config_map)
        self.clock = SandboxClock(1.0)  # the real controllers keep wall time
        self.store = Store(self.clock)
        self.recorder = EventRecorder(self.store, self.clock)
        profiles = {(w.namespace, w.name): w for w in scenario.spec.workloads}
        # the call graph, so a `latency` fault slows the callers too, as on the emulator
        self.book = FaultBook(calls={key: w.callees() for key, w in profiles.items() if w.calls})
        self.kubelet = Kubelet(self.store, self.recorder, self.book, profiles, seed)
        self.nodes = {n.name for n in scenario.spec.nodes}
        now = rfc3339(self.clock.now())
        for i, n in enumerate(scenario.spec.nodes):
            self.store.create(kinds.NODES, objects.node(n.name, node_ip(i), n.cpu, n.memory, n.pods, n.zone, now, now))
        self.real_uid: dict[str, str] = {}  # mirror pod uid -> API server pod uid
        self._syncing = False  # set while the mirror copies from the API server (not the kubelet's doing)
        self._dirty: dict[Key, None] = {}
        self._events: dict[Key, Obj] = {}
        self._deletes: dict[Key, str] = {}  # pods to finalise -> uid
        self._wake = threading.Condition()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = 0
        self.store.subscribe(self._changed)

    # -- threads -------------------------------------------------------------------------------------
    def start(self) -> None:
        for name, target in (("pods", self._watch_pods), ("faults", self._watch_faults), ("tick", self._tick_loop),
                             ("writer", self._write_loop)):
            t = threading.Thread(target=target, name=f"sandbox-kubelet-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads; a watch blocked on the API server ends with its next event, its timeout, or the
        server going away (RealSandbox.stop asks first, stops the server, then joins)."""
        self._stop.set()
        self._kick.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout)

    def _tick_loop(self) -> None:
        last = self.clock.now()
        while not self._stop.is_set():
            self._kick.wait(TICK)
            self._kick.clear()
            with self.store.lock:
                now = self.clock.now()
                try:
                    self.kubelet.tick(now, max(0.0, (now - last).total_seconds()))
                except Exception:  # a simulation bug must not stop the kubelet; logged with its traceback
                    log.exception("simulated kubelet tick failed")
                last = now

    def _watch(self, resource: str, namespace: str | None = None) -> Iterator[WatchEvent]:
        return self.kube.watch(resource, namespace, stop=self._stop, timeout_seconds=30)

    # -- API server -> mirror ------------------------------------------------------------------------
    def _watch_pods(self) -> None:
        listed: set[Key] = set()
        for ev in self._watch("pods"):
            if ev.type == "SYNCED":
                with self.store.lock:
                    for pod in list(self.store.items(kinds.PODS)):
                        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
                        if key not in listed:
                            self._mirror_delete(key)
                listed = set()
                continue
            meta = ev.obj.get("metadata") or {}
            key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
            if ev.type == "SYNC":
                listed.add(key)
            try:
                self._pod(ev.type, ev.obj, key)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("simulated kubelet skipped a malformed pod %s/%s: %s", *key, exc)
            self._kick.set()

    def _pod(self, change: str, obj: Obj, key: Key) -> None:
        if (obj.get("spec") or {}).get("nodeName") not in self.nodes:
            return
        with self.store.lock:
            if change == "DELETED":
                self._mirror_delete(key)
                return
            meta = obj["metadata"]
            local = self.store.peek(kinds.PODS, *key)
            if local is not None and self.real_uid.get(local["metadata"]["uid"]) != meta["uid"]:
                self._mirror_delete(key)  # deleted and created again under the same name (a StatefulSet pod)
                local = None
            if meta.get("deletionTimestamp"):
                with self._wake:
                    self._deletes[key] = meta["uid"]
                    self._wake.notify()
            if local is None:
                self._ensure_owner(obj)
                copy = {"metadata": {k: meta[k] for k in ("name", "namespace", "labels", "annotations",
                                                          "ownerReferences", "creationTimestamp") if k in meta},
                        "spec": obj["spec"], "status": {}}
                self._syncing = True
                try:
                    created = self.store.create(kinds.PODS, copy)
                finally:
                    self._syncing = False
                self.real_uid[created["metadata"]["uid"]] = meta["uid"]

    def _ensure_owner(self, pod: Obj) -> None:
        """A stub ReplicaSet for the pod's owner, naming its Deployment (NAME-HASH is the controller's naming)."""
        meta = pod["metadata"]
        template_hash = (meta.get("labels") or {}).get("pod-template-hash", "")
        for ref in meta.get("ownerReferences") or []:
            if ref.get("kind") != "ReplicaSet" or self.store.peek(kinds.REPLICASETS, meta["namespace"], ref["name"]):
                continue
            owners = []
            if template_hash and ref["name"].endswith(f"-{template_hash}"):
                owners = [{"apiVersion": "apps/v1", "kind": "Deployment", "controller": True,
                           "name": ref["name"][:-len(template_hash) - 1], "uid": ""}]
            self.store.create(kinds.REPLICASETS, {"metadata": {"name": ref["name"], "namespace": meta["namespace"],
                                                               "ownerReferences": owners}})

    def _mirror_delete(self, key: Key) -> None:
        local = self.store.peek(kinds.PODS, *key)
        if local is None:
            return
        self._syncing = True
        try:
            self.store.delete(kinds.PODS, *key)
        finally:
            self._syncing = False
        self.real_uid.pop(local["metadata"]["uid"], None)

    def _watch_faults(self) -> None:
        for ev in self._watch("configmaps", real_faults.NAMESPACE):
            if ev.obj.get("metadata", {}).get("name") != real_faults.CONFIGMAP:
                continue
            data = {} if ev.type == "DELETED" else dict(ev.obj.get("data") or {})
            with self.store.lock:
                real_faults.book_from(data, self.book)
            self._kick.set()

    # -- mirror -> API server ------------------------------------------------------------------------
    def _changed(self, change: Change) -> None:  # called under the store lock by every write
        if self._syncing or change.type == "DELETED":
            return
        meta = change.obj["metadata"]
        key = (str(meta.get("namespace", "")), str(meta["name"]))
        if change.key == kinds.PODS.key:
            with self._wake:
                self._dirty[key] = None
                self._wake.notify()
        elif change.key == kinds.EVENTS.key:
            with self._wake:
                self._events[key] = change.obj
                self._wake.notify()

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                while not (self._dirty or self._events or self._deletes or self._stop.is_set()):
                    self._wake.wait(1.0)
                dirty, self._dirty = list(self._dirty), {}
                events, self._events = list(self._events.values()), {}
                deletes, self._deletes = dict(self._deletes), {}
            for key in dirty:
                self._guarded(f"status of pod {key[0]}/{key[1]}", self._push_status, key)
            for ev in events:
                self._guarded(f"event {ev['metadata']['name']}", self._push_event, ev)
            for key, uid in deletes.items():
                self._guarded(f"delete pod {key[0]}/{key[1]}", self._finalise, key, uid)

    def _guarded(self, what: str, call: Callable[..., None], *args: Any) -> None:
        """One write; its failure is counted and logged, never the end of the writer thread."""
        try:
            call(*args)
        except ExternalError as exc:
            if "HTTP 404" not in str(exc) and "HTTP 409" not in str(exc):  # gone, or changed under us: fine
                self.errors += 1
                log.warning("simulated kubelet: %s failed: %s", what, exc)
        except Exception:  # a bug in one write must not stop the others; logged with its traceback
            self.errors += 1
            log.exception("simulated kubelet: %s failed", what)

    def _push_status(self, key: Key) -> None:
        with self.store.lock:
            local = self.store.peek(kinds.PODS, *key)
            if local is None:
                return
            uid = self.real_uid.get(local["metadata"]["uid"])
            status = local.get("status") or {}
        if uid is None or not status:
            return
        patch = [{"op": "test", "path": "/metadata/uid", "value": uid},  # never another pod of the same name
                 {"op": "add", "path": "/status", "value": status}]
        self.kube.call_json(f"status of pod {key[0]}/{key[1]}", self.kube.core.patch_namespaced_pod_status, key[1],
                            key[0], patch, _content_type=JSON_PATCH)

    def _push_event(self, ev: Obj) -> None:
        meta, involved = ev["metadata"], dict(ev["involvedObject"])
        with self.store.lock:
            involved["uid"] = self.real_uid.get(involved.get("uid", ""), involved.get("uid", ""))
        involved.pop("resourceVersion", None)
        fields = ("reason", "message", "type", "count", "firstTimestamp", "lastTimestamp", "source",
                  "reportingComponent", "reportingInstance")
        body: dict[str, Any] = {k: ev[k] for k in fields if k in ev}
        body.update(apiVersion="v1", kind="Event", involvedObject=involved,
                    metadata={"name": meta["name"], "namespace": meta["namespace"]})
        if int(ev.get("count", 1)) > 1:
            try:
                self.kube.call_json("count an event", self.kube.core.patch_namespaced_event, meta["name"],
                                    meta["namespace"], {"count": ev["count"], "lastTimestamp": ev["lastTimestamp"]},
                                    _content_type=MERGE)
                return
            except ExternalError as exc:
                if "HTTP 404" not in str(exc):
                    raise
        self.kube.call_json("record an event", self.kube.core.create_namespaced_event, meta["namespace"], body)

    def _finalise(self, key: Key, uid: str) -> None:
        """A pod being deleted: its containers are stopped at once, so the kubelet removes it (grace 0)."""
        body = k8s.V1DeleteOptions(grace_period_seconds=0, preconditions=k8s.V1Preconditions(uid=uid))
        self.kube.call_json(f"delete pod {key[0]}/{key[1]}", self.kube.core.delete_namespaced_pod, key[1], key[0],
                            body=body)

    # -- what the kubelet knows ------------------------------------------------------------------------
    def pod_states(self) -> list[Any]:
        with self.store.lock:
            return list(self.kubelet.pods.values())

    def exposition(self, namespace: str | None = None) -> str:
        from tagent.sandbox import metrics

        with self.store.lock:
            return metrics.exposition(list(self.kubelet.pods.values()), namespace)
