"""What a request asks to do, in RBAC terms: (verb, API group, resource[/subresource], namespace, name).

The parse follows kube-apiserver's RequestInfoFactory (k8s.io/apiserver/pkg/endpoints/request), not the
sandbox's router, so a rule is judged the way a real cluster judges it, for any path, even one the sandbox
does not serve: `/api/v1/...` and `/apis/GROUP/VERSION/...` with at least one segment after the version
are resource requests, everything else (`/api`, `/apis/apps/v1`, `/version`, `/sandbox/...`) is a
non-resource request judged by its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

METHOD_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})  # /namespaces/NAME/status is the namespace's own


@dataclass(frozen=True)
class RequestInfo:
    verb: str
    path: str
    resource_request: bool = False
    group: str = ""
    version: str = ""
    resource: str = ""  # plural, without the subresource
    subresource: str = ""
    namespace: str = ""  # "" for cluster-scoped requests and lists across namespaces
    name: str = ""

    @property
    def full_resource(self) -> str:
        """`pods/log`: what an RBAC rule's `resources` names."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _split(path: str) -> list[str]:
    return [part for part in path.strip("/").split("/") if part]


def _name_from_field_selector(selector: str) -> str:
    """`metadata.name=x` (alone or among other terms) pins a list or watch to one name, as for the API server."""
    for term in selector.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == "metadata.name":
            value = value.strip()
            if value and "/" not in value and value not in (".", ".."):
                return value
    return ""


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """The RBAC attributes of one request (`query`: parsed query parameters, last value wins)."""
    verb = METHOD_VERBS.get(method.upper(), method.lower())
    parts = _split(path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return RequestInfo(verb=verb, path=path)
    group = ""
    rest = parts[1:]
    if parts[0] == "apis":
        if len(rest) < 3:
            return RequestInfo(verb=verb, path=path)  # /apis/GROUP/VERSION is discovery
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "").lower() in ("true", "1") else "list"
        name = _name_from_field_selector(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(verb=verb, path=path, resource_request=True, group=group, version=version,
                       resource=resource, subresource=subresource, namespace=namespace, name=name)
