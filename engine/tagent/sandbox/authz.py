"""RBAC for the sandbox: a bearer token bound to PolicyRules gets exactly what a real cluster would give it.

The admin token (the sandbox's own) keeps full access and never reaches this module. Any other token must
have been added with its rules: ClusterRole rules apply everywhere (a ClusterRoleBinding), Role rules only
in their namespace (a RoleBinding). Every authenticated user may also do what Kubernetes' default
`system:discovery`, `system:public-info-viewer` and `system:basic-user` roles allow (discovery, /version,
SelfSubjectAccessReview). Matching follows k8s.io/kubernetes/pkg/apis/rbac/v1 (`*`, `*/scale`,
resourceNames); refusals are 403 Status answers worded like kube-apiserver's, and each is recorded, so a
test can assert that a workload never asked for what its role lacks.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.requestinfo import RequestInfo, request_info
from tagent.sandbox.web import Request

DISCOVERY = ("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/openapi", "/openapi/*",
             "/version", "/version/")
SELF_REVIEWS = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io",
                "selfsubjectrulesreviews"), ("authentication.k8s.io", "selfsubjectreviews")}
MAX_DENIALS = 10_000


def _strings(data: Mapping[str, Any], key: str) -> frozenset[str]:
    value = data.get(key) or []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"a PolicyRule's {key} must be a list of strings, not {value!r}")
    return frozenset(value)


def _path_matches(patterns: Iterable[str], path: str) -> bool:
    for pattern in patterns:
        if pattern == "*" or pattern == path or (pattern.endswith("*") and path.startswith(pattern[:-1])):
            return True
    return False


@dataclass(frozen=True)
class Rule:
    """One RBAC PolicyRule."""

    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Rule:
        """From a PolicyRule as in a Role manifest (`apiGroups`, `resources`, `verbs`, `resourceNames`,
        `nonResourceURLs`); ValueError with a one-line reason when it is not one."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a PolicyRule must be a mapping, not {type(data).__name__}")
        unknown = set(data) - {"apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"}
        if unknown:
            raise ValueError(f"unknown PolicyRule field(s): {', '.join(sorted(unknown))}")
        rule = cls(_strings(data, "verbs"), _strings(data, "apiGroups"), _strings(data, "resources"),
                   _strings(data, "resourceNames"), _strings(data, "nonResourceURLs"))
        if not rule.verbs:
            raise ValueError("a PolicyRule needs at least one verb")
        if not rule.resources and not rule.non_resource_urls:
            raise ValueError("a PolicyRule needs resources or nonResourceURLs")
        return rule

    def allows(self, info: RequestInfo) -> bool:
        if not ("*" in self.verbs or info.verb in self.verbs):
            return False
        if not info.resource_request:
            return _path_matches(self.non_resource_urls, info.path)
        if not ("*" in self.api_groups or info.group in self.api_groups):
            return False
        full = info.full_resource
        if not ("*" in self.resources or full in self.resources
                or (info.subresource and f"*/{info.subresource}" in self.resources)):
            return False
        return not self.resource_names or info.name in self.resource_names


@dataclass(frozen=True)
class Grant:
    """The rules one binding gives: `namespace` None for a ClusterRoleBinding, else a RoleBinding's namespace."""

    rules: tuple[Rule, ...]
    namespace: str | None = None

    def allows(self, info: RequestInfo) -> bool:
        if self.namespace is not None and (not info.resource_request or info.namespace != self.namespace):
            return False
        return any(rule.allows(info) for rule in self.rules)


@dataclass(frozen=True)
class Subject:
    user: str
    grants: tuple[Grant, ...]

    def allows(self, info: RequestInfo) -> bool:
        if not info.resource_request and info.verb == "get" and _path_matches(DISCOVERY, info.path):
            return True
        if info.resource_request and info.verb == "create" and (info.group, info.resource) in SELF_REVIEWS:
            return True
        return any(grant.allows(info) for grant in self.grants)


@dataclass(frozen=True)
class Denial:
    """One refused request, as recorded for assertions."""

    user: str
    method: str
    path: str
    verb: str
    group: str
    resource: str  # with the subresource: pods/log
    namespace: str
    name: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def forbidden(user: str, info: RequestInfo) -> ApiError:
    """The 403 kube-apiserver answers (responsewriters.forbiddenMessage + errors.NewForbidden)."""
    if not info.resource_request:
        return ApiError(403, f'forbidden: User "{user}" cannot {info.verb} path "{info.path}"', "Forbidden")
    where = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    why = (f'User "{user}" cannot {info.verb} resource "{info.full_resource}" in API group "{info.group}" '
           f"{where}")
    qualified = f"{info.resource}.{info.group}" if info.group else info.resource
    message = f'{qualified} "{info.name}" is forbidden: {why}' if info.name else f"{qualified} is forbidden: {why}"
    return ApiError(403, message, "Forbidden", {"name": info.name, "group": info.group, "kind": info.resource})


def parse_rules(rules: Iterable[Mapping[str, Any]]) -> tuple[Rule, ...]:
    return tuple(Rule.parse(rule) for rule in rules)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class Authorizer:
    """Tokens bound to roles, the decision for each request, and the record of what was asked and refused."""

    def __init__(self) -> None:
        self._subjects: dict[bytes, Subject] = {}  # sha256(token): no token text kept around, constant lookup
        self._lock = threading.Lock()
        self._denials: list[Denial] = []
        self._calls: Counter[tuple[str, str, str, str, bool]] = Counter()

    def add(self, token: str, user: str, rules: Iterable[Mapping[str, Any]] = (),
            roles: Mapping[str, Iterable[Mapping[str, Any]]] | None = None) -> None:
        """Bind `token` (user name `user`) to ClusterRole `rules` and, per namespace, Role `roles`."""
        if not token or not user:
            raise ValueError("a token and a user name are needed")
        grants = [Grant(parse_rules(rules))]
        grants += [Grant(parse_rules(ns_rules), namespace) for namespace, ns_rules in (roles or {}).items()]
        with self._lock:
            self._subjects = {**self._subjects, _digest(token): Subject(user, tuple(grants))}

    def authenticate(self, token: str) -> Subject | None:
        return self._subjects.get(_digest(token)) if token else None

    def authorize(self, subject: Subject, req: Request) -> RequestInfo:
        """Return the request's attributes when `subject` may do it; record and raise a 403 otherwise."""
        info = request_info(req.method, req.path, req.query)
        allowed = subject.allows(info)
        with self._lock:
            self._calls[(subject.user, info.verb, info.group, info.full_resource or info.path, allowed)] += 1
            if not allowed and len(self._denials) < MAX_DENIALS:
                self._denials.append(Denial(subject.user, req.method, req.path, info.verb, info.group,
                                            info.full_resource, info.namespace, info.name))
        if not allowed:
            raise forbidden(subject.user, info)
        return info

    def denials(self, user: str | None = None) -> list[Denial]:
        with self._lock:
            return [d for d in self._denials if user is None or d.user == user]

    def calls(self, user: str | None = None) -> Counter[tuple[str, str, str, bool]]:
        """(verb, group, resource or path, allowed) -> count, for one user or all role-bound users."""
        out: Counter[tuple[str, str, str, bool]] = Counter()
        with self._lock:
            for (who, verb, group, resource, allowed), n in self._calls.items():
                if user is None or who == user:
                    out[(verb, group, resource, allowed)] += n
        return out

    def review(self, subject: Subject | None, body: Any) -> dict[str, Any]:
        """A SelfSubjectAccessReview answered for the caller (`kubectl auth can-i`); None: the admin."""
        spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise ApiError(400, "a SelfSubjectAccessReview needs a spec")
        attrs, path = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if isinstance(attrs, dict):
            info = RequestInfo(verb=str(attrs.get("verb", "")), path="", resource_request=True,
                               group=str(attrs.get("group", "")), version=str(attrs.get("version", "")),
                               resource=str(attrs.get("resource", "")), subresource=str(attrs.get("subresource", "")),
                               namespace=str(attrs.get("namespace", "")), name=str(attrs.get("name", "")))
        elif isinstance(path, dict):
            info = RequestInfo(verb=str(path.get("verb", "")), path=str(path.get("path", "")))
        else:
            raise ApiError(400, "a SelfSubjectAccessReview needs resourceAttributes or nonResourceAttributes")
        allowed = subject is None or subject.allows(info)
        reason = "the sandbox's admin token" if subject is None else ("allowed by the token's role" if allowed else "")
        return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None}, "spec": spec,
                "status": {"allowed": allowed, "reason": reason}}
