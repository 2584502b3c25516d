"""Generic REST verbs over the store for every served kind: list, watch, get, create, update, patch, delete."""

from __future__ import annotations

import base64
import builtins
import copy
import threading
from dataclasses import dataclass
from typing import Any

from tagent.sandbox import defaults, kinds, patch, table, validate, watch
from tagent.sandbox.apierrors import ApiError, status_body
from tagent.sandbox.kinds import ResourceType
from tagent.sandbox.selectors import field_selector, label_selector
from tagent.sandbox.simulation import Simulation
from tagent.sandbox.store import Obj
from tagent.sandbox.web import Request, Response, json_response


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None  # None: all namespaces (or cluster-scoped)
    name: str | None
    sub: str | None = None


class Rest:
    def __init__(self, sim: Simulation, stop: threading.Event) -> None:
        self.sim, self.store, self.stop = sim, sim.store, stop

    # -- reading ---------------------------------------------------------------------------------
    def matcher(self, req: Request) -> Any:
        labels = label_selector(req.query.get("labelSelector"))
        fields = field_selector(req.query.get("fieldSelector"))
        return lambda o: labels(o["metadata"].get("labels") or {}) and fields(o)

    def render(self, req: Request, rt: ResourceType) -> Any:
        """How one object goes on the wire: itself, or a one-row Table for `kubectl get -w`."""
        if not req.wants_table():
            return lambda o: o
        include = req.query.get("includeObject", "Metadata")
        return lambda o: table.table(rt, [o], self.sim.clock.now(), o["metadata"].get("resourceVersion", ""), include)

    def list(self, req: Request, t: Target) -> Response:
        match = self.matcher(req)
        if req.flag("watch"):
            events = watch.stream(self.store, t.rt, t.namespace, match, req.query.get("resourceVersion"),
                                  req.int_param("timeoutSeconds"), req.flag("allowWatchBookmarks"),
                                  req.flag("sendInitialEvents"), self.render(req, t.rt), self.stop, req.client_gone)
            return Response(200, stream=events)
        items, rv = self.store.list(t.rt, t.namespace, match)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        items = self._page(req, items, meta)
        if req.wants_table():
            return json_response(table.table(t.rt, items, self.sim.clock.now(), str(rv),
                                             req.query.get("includeObject", "Metadata"), meta))
        return json_response({"kind": t.rt.list_kind, "apiVersion": t.rt.api_version, "metadata": meta,
                              "items": items})

    @staticmethod
    def _page(req: Request, items: builtins.list[Obj], meta: dict[str, Any]) -> builtins.list[Obj]:
        start = 0
        token = req.query.get("continue")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError as exc:
                raise ApiError(400, "invalid continue token") from exc
        limit = req.int_param("limit")
        end = len(items) if not limit or limit <= 0 else start + limit
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        return items[start:end]

    def get(self, req: Request, t: Target) -> Response:
        obj = self.store.get(t.rt, t.namespace or "", t.name or "")
        if req.wants_table():
            return json_response(table.table(t.rt, [obj], self.sim.clock.now(), obj["metadata"]["resourceVersion"],
                                             req.query.get("includeObject", "Metadata")))
        return json_response(obj)

    # -- writing ---------------------------------------------------------------------------------
    def _body(self, req: Request, t: Target) -> Obj:
        body = req.json()
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object")
        if t.rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != t.namespace:
                raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the "
                                    "request")
            meta["namespace"] = t.namespace
        if t.name and meta.get("name") and meta["name"] != t.name:
            raise ApiError(400, "the name of the object does not match the name on the URL")
        if t.name:
            meta["name"] = t.name
        return body

    def create(self, req: Request, t: Target) -> Response:
        if t.rt.namespaced and not t.namespace:
            raise ApiError(405, "create needs a namespace in the URL", "MethodNotAllowed")
        body = self._body(req, t)
        if t.rt.kind in ("Deployment", "StatefulSet", "ReplicaSet"):
            body.pop("status", None)  # status belongs to the controllers
        defaults.apply(t.rt, body)
        validate.check(t.rt, body)
        if t.namespace and t.rt.kind != "Namespace" and self.store.find(kinds.NAMESPACES, "", t.namespace) is None:
            raise ApiError(404, f'namespaces "{t.namespace}" not found', "NotFound")
        if req.query.get("dryRun"):
            return json_response(body, 201)
        return json_response(self.store.create(t.rt, body), 201)

    def replace(self, req: Request, t: Target) -> Response:
        body = self._body(req, t)
        with self.store.lock:
            old = self.store.get(t.rt, t.namespace or "", t.name or "")
            defaults.apply(t.rt, body)
            validate.check(t.rt, body, old)
            if req.query.get("dryRun"):
                return json_response(body)
            return json_response(self.store.replace(t.rt, body))

    def patch(self, req: Request, t: Target) -> Response:
        body = req.json()
        with self.store.lock:
            old = self.store.get(t.rt, t.namespace or "", t.name or "")
            new = patch.apply_patch(req.content_type, old, body)
            if not isinstance(new, dict):
                raise ApiError(422, "the patch must leave an object")
            return json_response(self.save_patched(t, old, new, bool(req.query.get("dryRun"))))

    def save_patched(self, t: Target, old: Obj, new: Obj, dry_run: bool) -> Obj:
        meta = new.setdefault("metadata", {})
        if meta.get("resourceVersion") not in (None, old["metadata"]["resourceVersion"]):
            raise ApiError(409, f'Operation cannot be fulfilled on {t.rt.plural} "{t.name}": the object has been '
                                "modified; please apply your changes to the latest version and try again", "Conflict")
        for field in ("name", "namespace", "uid", "creationTimestamp"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
        defaults.apply(t.rt, new)
        validate.check(t.rt, new, old)
        return new if dry_run else self.store.replace(t.rt, new, check_rv=False)

    def delete(self, req: Request, t: Target) -> Response:
        options = req.json_or_empty()
        dry_run = bool(req.query.get("dryRun") or (isinstance(options, dict) and options.get("dryRun")))
        with self.store.lock:
            obj = self.store.get(t.rt, t.namespace or "", t.name or "")
            pre = (options.get("preconditions") or {}) if isinstance(options, dict) else {}
            if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
                raise ApiError(409, "Precondition failed: UID in precondition does not match", "Conflict")
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise ApiError(409, "Precondition failed: ResourceVersion does not match", "Conflict")
            if not dry_run:
                obj = self.store.delete(t.rt, t.namespace or "", t.name or "")
                if t.rt.kind == "Namespace":
                    self._empty_namespace(obj["metadata"]["name"])
        if t.rt.kind in ("Pod", "Namespace"):
            return json_response(obj)
        body = status_body(200, "", "", {"name": t.name, "group": t.rt.group, "kind": t.rt.plural,
                                         "uid": obj["metadata"]["uid"]}, failure=False)
        body.pop("message", None)
        return json_response(body)

    def _empty_namespace(self, ns: str) -> None:
        for rt in kinds.TYPES:
            if rt.namespaced and rt.group != "metrics.k8s.io":
                for o in self.store.list(rt, ns)[0]:
                    self.store.delete(rt, ns, o["metadata"]["name"])

    def delete_collection(self, req: Request, t: Target) -> Response:
        match = self.matcher(req)
        with self.store.lock:
            items, rv = self.store.list(t.rt, t.namespace, match)
            gone = [self.store.delete(t.rt, o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in items]
        return json_response({"kind": t.rt.list_kind, "apiVersion": t.rt.api_version,
                              "metadata": {"resourceVersion": str(rv)}, "items": copy.deepcopy(gone)})
