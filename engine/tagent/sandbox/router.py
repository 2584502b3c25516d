"""URL routing: non-resource paths, discovery, the resource URL grammar, and the sandbox's own endpoints."""

from __future__ import annotations

import hmac
import threading
from typing import Any

from tagent.sandbox import kinds, metrics, openapi, protowire
from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.authz import Authorizer
from tagent.sandbox.clock import rfc3339
from tagent.sandbox.rest import Rest, Target
from tagent.sandbox.simulation import Simulation
from tagent.sandbox.subresources import Subresources
from tagent.sandbox.web import Request, Response, error_response, json_response, text_response

OPEN_PATHS = ("/healthz", "/livez", "/readyz")
METRICS_PATH = "/metrics/sandbox"
REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-tagent-sandbox", "gitCommit": "0" * 40,
           "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0",
           "compiler": "gc", "platform": "linux/amd64"}
METHOD_VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class Api:
    def __init__(self, sim: Simulation, token: str, stop: threading.Event, authz: Authorizer | None = None) -> None:
        self.sim, self._token, self.stop = sim, token, stop
        self.authz = authz or Authorizer()  # tokens bound to RBAC rules; the admin token never consults it
        self.rest = Rest(sim, stop)
        self.sub = Subresources(self.rest)

    def handle(self, req: Request) -> Response:
        try:
            path = req.path.rstrip("/") or "/"
            if path in OPEN_PATHS:
                return text_response("ok")
            if path == METRICS_PATH or path.startswith(METRICS_PATH + "/"):
                ns = path[len(METRICS_PATH) + 1:] or req.query.get("namespace") or None
                with self.sim.store.lock:
                    body = metrics.exposition(list(self.sim.kubelet.pods.values()), ns)
                return text_response(body, content_type=metrics.CONTENT_TYPE)
            subject = None
            if not self._authorized(req):
                subject = self.authz.authenticate(_bearer(req))
                if subject is None:
                    raise ApiError(401, "Unauthorized")
                self.authz.authorize(subject, req)  # 403 when the token's role lacks the verb
            if path == REVIEW_PATH and req.method == "POST":
                protobuf = req.content_type.startswith("application/vnd.kubernetes.protobuf")
                review = protowire.self_subject_access_review(req.body) if protobuf else req.json()
                return json_response(self.authz.review(subject, review), 201)
            return self._route(req, path)
        except ApiError as err:
            return error_response(err)

    def _authorized(self, req: Request) -> bool:
        """The admin token: full access, no authorization step."""
        return hmac.compare_digest(_bearer(req).encode(), self._token.encode())

    def _route(self, req: Request, path: str) -> Response:
        segs = [s for s in path.split("/") if s]
        if path == "/version":
            return json_response(VERSION)
        if path == "/api":
            return json_response(kinds.core_versions())
        if path == "/apis":
            return json_response(kinds.group_list())
        if path == "/openapi/v3":
            return json_response(openapi.root())
        if path.startswith("/openapi/v3/") and (doc := openapi.group_version(path[len("/openapi/v3/"):])):
            return json_response(doc)
        if segs[:1] == ["sandbox"]:
            return self._sandbox(req, segs[1:])
        if segs[:2] == ["api", "v1"]:
            return self._resources(req, "", "v1", segs[2:])
        if segs[:1] == ["apis"] and len(segs) == 2:
            group = kinds.group(segs[1])
            if group is None:
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            return json_response(group)
        if segs[:1] == ["apis"] and len(segs) >= 3:
            return self._resources(req, segs[1], segs[2], segs[3:])
        raise ApiError(404, "the server could not find the requested resource", "NotFound")

    def _resources(self, req: Request, group: str, version: str, segs: list[str]) -> Response:
        if not segs:
            listing = kinds.resource_list(group, version)
            if listing is None:
                raise ApiError(404, "the server could not find the requested resource", "NotFound")
            return json_response(listing)
        t = self._target(group, version, segs)
        verb = METHOD_VERBS.get(req.method, "")
        if t.rt.group == "metrics.k8s.io":
            if req.method != "GET":
                raise ApiError(405, f"{req.method} is not supported on {t.rt.plural}.metrics.k8s.io",
                               "MethodNotAllowed")
            return self.sub.metrics(req, t)
        if t.sub is not None:
            return self._subresource(req, t)
        if t.name is None:
            verb = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}.get(req.method, "")
        if verb not in t.rt.verbs:
            raise ApiError(405, f"{req.method} is not supported on {t.rt.plural}", "MethodNotAllowed")
        if t.name is None:
            handler = {"list": self.rest.list, "create": self.rest.create,
                       "deletecollection": self.rest.delete_collection}[verb]
        else:
            handler = {"get": self.rest.get, "update": self.rest.replace, "patch": self.rest.patch,
                       "delete": self.rest.delete}[verb]
        return handler(req, t)

    def _target(self, group: str, version: str, segs: list[str]) -> Target:
        not_found = ApiError(404, "the server could not find the requested resource", "NotFound")
        if len(segs) >= 3 and segs[0] == "namespaces" and kinds.lookup(group, version, segs[2]) is not None:
            rt, ns, rest = kinds.lookup(group, version, segs[2]), segs[1], segs[3:]
        else:
            rt, ns, rest = kinds.lookup(group, version, segs[0]), None, segs[1:]
        if rt is None or len(rest) > 2 or (ns is not None and not rt.namespaced):
            raise not_found
        name = rest[0] if rest else None
        sub = rest[1] if len(rest) > 1 else None
        if sub is not None and sub not in rt.subresources:
            raise not_found
        if rt.namespaced and name is not None and ns is None:
            raise not_found
        return Target(rt, ns, name, sub)

    def _subresource(self, req: Request, t: Target) -> Response:
        allowed = {"log": ("GET",), "eviction": ("POST",), "scale": ("GET", "PUT", "PATCH"),
                   "status": ("GET", "PUT", "PATCH")}[t.sub or ""]
        if req.method not in allowed:
            raise ApiError(405, f"{req.method} is not supported on {t.rt.plural}/{t.sub}", "MethodNotAllowed")
        handler = {"log": self.sub.log, "eviction": self.sub.evict, "scale": self.sub.scale,
                   "status": self.sub.status}[t.sub or ""]
        return handler(req, t)

    # -- /sandbox/v1 ---------------------------------------------------------------------------------
    def _sandbox(self, req: Request, segs: list[str]) -> Response:
        if segs == ["v1", "clock"] and req.method == "GET":
            return json_response({"now": rfc3339(self.sim.clock.now()), "speed": self.sim.clock.speed,
                                  "elapsedSeconds": self.sim.clock.elapsed()})
        if segs == ["v1", "faults"] and req.method == "GET":
            with self.sim.store.lock:
                return json_response({"items": [f.as_dict() for f in self.sim.book.active()]})
        if segs == ["v1", "faults"] and req.method == "POST":
            body = req.json()
            if not isinstance(body, dict):
                raise ApiError(400, "the body must be a JSON object")
            ns, name = _target_of(body)
            params = body.get("params") or {}
            if not isinstance(params, dict):
                raise ApiError(422, "params must be an object")
            fault = self.sim.inject(str(body.get("fault", "")), ns, name, params)
            return json_response(fault.as_dict(), 201)
        raise ApiError(404, "the server could not find the requested resource", "NotFound")


def _bearer(req: Request) -> str:
    scheme, _, given = req.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" else ""


def _target_of(body: dict[str, Any]) -> tuple[str, str]:
    if "target" in body:
        ns, _, name = str(body["target"]).partition("/")
    else:
        ns, name = str(body.get("namespace", "")), str(body.get("name", ""))
    if not ns or not name:
        raise ApiError(422, "a fault needs a target NAMESPACE/NAME")
    return ns, name
