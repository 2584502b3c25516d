"""Subresources: pods/log, pods/eviction, */scale, */status, and the metrics.k8s.io API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from tagent.sandbox import kinds, logs, metrics, patch
from tagent.sandbox.apierrors import ApiError, status_body
from tagent.sandbox.podstate import PodState
from tagent.sandbox.rest import Rest, Target
from tagent.sandbox.selectors import matches_selector, selector_string
from tagent.sandbox.store import Obj
from tagent.sandbox.web import TEXT, Request, Response, json_response, text_response


class Subresources:
    def __init__(self, rest: Rest) -> None:
        self.rest, self.sim, self.store = rest, rest.sim, rest.store

    def pod_state(self, namespace: str, name: str) -> PodState:
        pod = self.store.get(kinds.PODS, namespace, name)
        state = self.sim.kubelet.pods.get(pod["metadata"]["uid"])
        if state is None:
            raise ApiError(400, f'container in pod "{name}" is waiting to start: ContainerCreating')
        return state

    # -- pods/log ------------------------------------------------------------------------------------
    def log(self, req: Request, t: Target) -> Response:
        with self.store.lock:
            state = self.pod_state(t.namespace or "", t.name or "")
            container = logs.pick_container(state, req.query.get("container"))
            if container.status == "creating" and container.restart_count == 0:
                raise ApiError(400, f'container "{container.name}" in pod "{state.name}" is waiting to start: '
                                    "ContainerCreating")
            lines = logs.read_logs(state, req.query, self.sim.clock.now())
        text = "".join(line + "\n" for line in lines)
        if req.flag("follow") and not req.flag("previous"):
            return Response(200, content_type=TEXT, stream=self._follow(req, state, container.name, text))
        return text_response(text)

    def _follow(self, req: Request, state: PodState, name: str, first: str) -> Iterator[bytes]:
        if first:
            yield first.encode()
        container = next(c for c in state.containers if c.name == name)
        seen = container.logs[-1] if container.logs else None
        timestamps = req.flag("timestamps")
        while not self.rest.stop.is_set() and not req.client_gone():
            time.sleep(0.2)
            with self.store.lock:
                if state.uid not in self.sim.kubelet.pods:
                    return
                entries = list(container.logs)
            start = next((i + 1 for i in range(len(entries) - 1, -1, -1) if entries[i] is seen), 0)
            fresh = entries[start:]
            if fresh:
                seen = fresh[-1]
                yield "".join(line + "\n" for line in logs.format_lines(fresh, timestamps)).encode()

    # -- pods/eviction -------------------------------------------------------------------------------
    def evict(self, req: Request, t: Target) -> Response:
        req.json_or_empty()
        with self.store.lock:
            pod = self.store.get(kinds.PODS, t.namespace or "", t.name or "")
            labels = pod["metadata"].get("labels") or {}
            for pdb in self.store.list(kinds.PDBS, t.namespace)[0]:
                if matches_selector(pdb["spec"].get("selector") or {}, labels):
                    allowed = int((pdb.get("status") or {}).get("disruptionsAllowed", 0))
                    if allowed < 1:
                        raise ApiError(429, "Cannot evict pod as it would violate the pod's disruption budget.",
                                       "TooManyRequests", {"causes": [{"reason": "DisruptionBudget", "message":
                                       f"The disruption budget {pdb['metadata']['name']} needs "
                                       f"{pdb['spec'].get('minAvailable')} healthy pods and has "
                                       f"{(pdb.get('status') or {}).get('currentHealthy', 0)} currently"}]})
            self.store.delete(kinds.PODS, t.namespace or "", t.name or "")
        body = status_body(201, "", "", failure=False)
        body.pop("message", None)
        return json_response(body, 201)

    # -- */scale -------------------------------------------------------------------------------------
    def scale_of(self, obj: Obj) -> Obj:
        m = obj["metadata"]
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"],
                             "resourceVersion": m["resourceVersion"], "creationTimestamp": m["creationTimestamp"]},
                "spec": {"replicas": int(obj["spec"].get("replicas", 1))},
                "status": {"replicas": int((obj.get("status") or {}).get("replicas", 0)),
                           "selector": selector_string((obj["spec"].get("selector") or {}).get("matchLabels") or {})}}

    def scale(self, req: Request, t: Target) -> Response:
        ns, name = t.namespace or "", t.name or ""
        if req.method == "GET":
            return json_response(self.scale_of(self.store.get(t.rt, ns, name)))
        body = req.json()
        with self.store.lock:
            obj = self.store.get(t.rt, ns, name)
            current = self.scale_of(obj)
            wanted = body if req.method == "PUT" else patch.apply_patch(req.content_type, current, body)
            replicas = (wanted.get("spec") or {}).get("replicas") if isinstance(wanted, dict) else None
            if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: '
                                    f"{replicas!r}: must be greater than or equal to 0", "Invalid")
            rv = (wanted.get("metadata") or {}).get("resourceVersion")
            if req.method == "PUT" and rv and rv != obj["metadata"]["resourceVersion"]:
                raise ApiError(409, f'Operation cannot be fulfilled on {t.rt.plural} "{name}": the object has been '
                                    "modified; please apply your changes to the latest version and try again",
                               "Conflict")
            if req.query.get("dryRun"):
                return json_response({**current, "spec": {"replicas": replicas}})
            obj["spec"]["replicas"] = replicas
            return json_response(self.scale_of(self.store.replace(t.rt, obj, check_rv=False)))

    # -- */status ------------------------------------------------------------------------------------
    def status(self, req: Request, t: Target) -> Response:
        ns, name = t.namespace or "", t.name or ""
        if req.method == "GET":
            return json_response(self.store.get(t.rt, ns, name))
        body = req.json()
        with self.store.lock:
            old = self.store.get(t.rt, ns, name)
            new = body if req.method == "PUT" else patch.apply_patch(req.content_type, old, body)
            if not isinstance(new, dict):
                raise ApiError(422, "the status update must be an object")
            merged = {**old, "status": new.get("status", old.get("status"))}
            if req.method == "PUT":
                merged["metadata"] = {**old["metadata"], "resourceVersion": (new.get("metadata") or {}).get(
                    "resourceVersion", old["metadata"]["resourceVersion"])}
            return json_response(self.rest.save_patched(t, old, merged, bool(req.query.get("dryRun"))))

    # -- metrics.k8s.io ------------------------------------------------------------------------------
    def metrics(self, req: Request, t: Target) -> Response:
        now = self.sim.clock.now()
        match = self.rest.matcher(req)
        with self.store.lock:
            if t.rt.plural == "nodes":
                nodes = self.store.list(kinds.NODES, None, match)[0]
                states = list(self.sim.kubelet.pods.values())
                items = [metrics.node_metrics(n, states, now) for n in nodes
                         if not t.name or n["metadata"]["name"] == t.name]
                kind = "NodeMetrics"
            else:
                pods = self.store.list(kinds.PODS, t.namespace, match)[0]
                items = []
                for pod in pods:
                    state = self.sim.kubelet.pods.get(pod["metadata"]["uid"])
                    if state is None or not state.running() or (t.name and pod["metadata"]["name"] != t.name):
                        continue
                    items.append(metrics.pod_metrics(state, pod["metadata"].get("labels") or {}, now))
                kind = "PodMetrics"
        if t.name:
            if not items:
                raise ApiError(404, f'{t.rt.plural}.metrics.k8s.io "{t.name}" not found', "NotFound")
            return json_response(items[0])
        meta: dict[str, Any] = {"resourceVersion": ""}
        return json_response({"kind": f"{kind}List", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": meta,
                              "items": items})
