"""Sandbox RBAC: requests map to RBAC attributes as kube-apiserver maps them, a role-bound token is refused
exactly what its rules lack (403 Status worded like the API server's, recorded), the admin token is
untouched; checked with unit tests, the real kubectl (get, delete, auth can-i) and the kubernetes client."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tagent.sandbox import ApiError, Sandbox, kinds
from tagent.sandbox.authz import Grant, Rule, Subject, forbidden, parse_rules
from tagent.sandbox.protowire import self_subject_access_review
from tagent.sandbox.rbac import bound_to_service_account, service_account_user
from tagent.sandbox.requestinfo import RequestInfo, request_info

READ_ONLY = [{"apiGroups": ["", "apps"], "resources": ["pods", "pods/log", "deployments"],
              "verbs": ["get", "list", "watch"]}]
LEASES = [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create"]}]
TOKEN = "read-only-token-for-tests"
USER = "tagent"


def info(method: str, path: str, **query: str) -> RequestInfo:
    return request_info(method, path, query)


# -- the mapping -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/pods", {}, ("list", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/shop/pods", {}, ("list", "", "pods", "shop", "")),
    ("GET", "/api/v1/namespaces/shop/pods", {"watch": "true"}, ("watch", "", "pods", "shop", "")),
    ("GET", "/api/v1/namespaces/shop/pods", {"watch": "1", "fieldSelector": "metadata.name=web-1"},
     ("watch", "", "pods", "shop", "web-1")),
    ("GET", "/api/v1/namespaces/shop/pods", {"fieldSelector": "status.phase=Running"},
     ("list", "", "pods", "shop", "")),
    ("HEAD", "/api/v1/namespaces/shop/pods/web-1", {}, ("get", "", "pods", "shop", "web-1")),
    ("GET", "/api/v1/namespaces/shop/pods/web-1/log", {"follow": "true"}, ("get", "", "pods/log", "shop", "web-1")),
    ("POST", "/api/v1/namespaces/shop/pods/web-1/eviction", {}, ("create", "", "pods/eviction", "shop", "web-1")),
    ("DELETE", "/api/v1/namespaces/shop/pods/web-1", {}, ("delete", "", "pods", "shop", "web-1")),
    ("DELETE", "/api/v1/namespaces/shop/pods", {}, ("deletecollection", "", "pods", "shop", "")),
    ("POST", "/api/v1/namespaces/shop/pods", {}, ("create", "", "pods", "shop", "")),
    ("PUT", "/apis/apps/v1/namespaces/shop/deployments/web", {}, ("update", "apps", "deployments", "shop", "web")),
    ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web", {}, ("patch", "apps", "deployments", "shop", "web")),
    ("GET", "/apis/apps/v1/namespaces/shop/deployments/web/scale", {},
     ("get", "apps", "deployments/scale", "shop", "web")),
    ("PATCH", "/apis/apps/v1/namespaces/db/statefulsets/pg/scale", {},
     ("patch", "apps", "statefulsets/scale", "db", "pg")),
    ("GET", "/apis/apps/v1/deployments", {"watch": "true"}, ("watch", "apps", "deployments", "", "")),
    ("GET", "/apis/metrics.k8s.io/v1beta1/pods", {}, ("list", "metrics.k8s.io", "pods", "", "")),
    ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web-1", {},
     ("get", "metrics.k8s.io", "pods", "shop", "web-1")),
    ("GET", "/api/v1/nodes/node-a", {}, ("get", "", "nodes", "", "node-a")),
    ("GET", "/api/v1/namespaces", {}, ("list", "", "namespaces", "", "")),
    ("GET", "/api/v1/namespaces/shop", {}, ("get", "", "namespaces", "shop", "shop")),  # its own namespace
    ("PUT", "/api/v1/namespaces/shop/finalize", {}, ("update", "", "namespaces/finalize", "shop", "shop")),
    ("POST", "/apis/coordination.k8s.io/v1/namespaces/tagent-system/leases", {},
     ("create", "coordination.k8s.io", "leases", "tagent-system", "")),
])
def test_requests_map_to_rbac_attributes_like_the_api_server(method: str, path: str, query: dict[str, str],
                                                           expected: tuple[str, ...]) -> None:
    got = request_info(method, path, query)
    assert got.resource_request
    assert (got.verb, got.group, got.full_resource, got.namespace, got.name) == expected


@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/version",
                                  "/openapi/v3/apis/apps/v1", "/sandbox/v1/faults", "/"])
def test_discovery_and_other_paths_are_non_resource_requests(path: str) -> None:
    got = info("GET", path)
    assert not got.resource_request and got.verb == "get" and got.path == path


# -- rule matching ---------------------------------------------------------------------------------

def subject(rules: list[dict[str, Any]], roles: dict[str, list[dict[str, Any]]] | None = None) -> Subject:
    grants = [Grant(parse_rules(rules))] + [Grant(parse_rules(r), ns) for ns, r in (roles or {}).items()]
    return Subject(USER, tuple(grants))


def test_a_rule_grants_exactly_its_verbs_groups_and_resources() -> None:
    s = subject(READ_ONLY)
    assert s.allows(info("GET", "/api/v1/namespaces/shop/pods"))
    assert s.allows(info("GET", "/api/v1/pods", watch="true"))
    assert s.allows(info("GET", "/api/v1/namespaces/shop/pods/web-1/log"))
    assert s.allows(info("GET", "/apis/apps/v1/namespaces/shop/deployments/web"))
    assert not s.allows(info("DELETE", "/apis/apps/v1/namespaces/shop/deployments/web"))
    assert not s.allows(info("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web"))
    assert not s.allows(info("GET", "/apis/apps/v1/namespaces/shop/deployments/web/scale"))  # a subresource of its own
    assert not s.allows(info("GET", "/apis/apps/v1/namespaces/shop/replicasets"))
    assert not s.allows(info("GET", "/api/v1/nodes"))
    assert not s.allows(info("GET", "/apis/metrics.k8s.io/v1beta1/pods"))  # same resource name, other group
    assert not s.allows(info("POST", "/api/v1/namespaces/shop/pods/web-1/eviction"))


def test_wildcards_subresource_wildcards_and_resource_names() -> None:
    s = subject([{"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["patch"]},
                 {"apiGroups": ["*"], "resources": ["nodes"], "verbs": ["*"]},
                 {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["delete"],
                  "resourceNames": ["test-env"]}])
    assert s.allows(info("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web/scale"))
    assert s.allows(info("PATCH", "/apis/apps/v1/namespaces/db/statefulsets/pg/scale"))
    assert not s.allows(info("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web"))
    assert s.allows(info("DELETE", "/api/v1/nodes/node-a"))
    assert s.allows(info("GET", "/apis/metrics.k8s.io/v1beta1/nodes"))
    assert s.allows(info("DELETE", "/apis/apps/v1/namespaces/test/deployments/test-env"))
    assert not s.allows(info("DELETE", "/apis/apps/v1/namespaces/test/deployments/other"))
    assert not s.allows(info("DELETE", "/apis/apps/v1/namespaces/test/deployments"))  # deletecollection


def test_role_rules_hold_only_in_their_namespace() -> None:
    s = subject([], {"tagent-system": LEASES})
    assert s.allows(info("POST", "/apis/coordination.k8s.io/v1/namespaces/tagent-system/leases"))
    assert s.allows(info("GET", "/apis/coordination.k8s.io/v1/namespaces/tagent-system/leases/engine"))
    assert not s.allows(info("POST", "/apis/coordination.k8s.io/v1/namespaces/shop/leases"))
    assert not s.allows(info("GET", "/apis/coordination.k8s.io/v1/leases"))  # across namespaces: cluster scope
    assert not s.allows(info("PATCH", "/apis/coordination.k8s.io/v1/namespaces/tagent-system/leases/engine"))


def test_every_authenticated_user_may_discover_but_not_use_the_sandbox_api() -> None:
    s = subject([])
    for path in ("/api", "/api/v1", "/apis", "/apis/apps/v1", "/version", "/openapi/v3", "/healthz"):
        assert s.allows(info("GET", path)), path
    assert not s.allows(info("POST", "/api"))
    assert not s.allows(info("GET", "/sandbox/v1/faults"))
    assert not s.allows(info("POST", "/sandbox/v1/faults"))
    assert s.allows(info("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"))  # kubectl auth can-i
    assert subject([{"nonResourceURLs": ["/sandbox/*"], "verbs": ["get"]}]).allows(info("GET", "/sandbox/v1/clock"))


def test_forbidden_messages_are_the_api_servers() -> None:
    user = "system:serviceaccount:tagent-system:tagent"
    named = forbidden(user, info("DELETE", "/apis/apps/v1/namespaces/shop/deployments/x"))
    assert (named.code, named.reason) == (403, "Forbidden")
    assert named.message == (f'deployments.apps "x" is forbidden: User "{user}" cannot delete resource "deployments" '
                             'in API group "apps" in the namespace "shop"')
    assert named.details == {"name": "x", "group": "apps", "kind": "deployments"}
    assert forbidden("tagent", info("GET", "/api/v1/nodes")).message == (
        'nodes is forbidden: User "tagent" cannot list resource "nodes" in API group "" at the cluster scope')
    assert forbidden("tagent", info("POST", "/api/v1/namespaces/shop/pods/p/eviction")).message == (
        'pods "p" is forbidden: User "tagent" cannot create resource "pods/eviction" in API group "" '
        'in the namespace "shop"')
    assert forbidden("tagent", info("GET", "/sandbox/v1/faults")).message == (
        'forbidden: User "tagent" cannot get path "/sandbox/v1/faults"')


@pytest.mark.parametrize(("rule", "reason"), [
    ({"apiGroups": [""], "resources": ["pods"]}, "at least one verb"),
    ({"apiGroups": [""], "resources": "pods", "verbs": ["get"]}, "resources must be a list"),
    ({"apiGroups": [""], "verbs": ["get"]}, "resources or nonResourceURLs"),
    ({"apiGroup": [""], "resources": ["pods"], "verbs": ["get"]}, "unknown PolicyRule field(s): apiGroup"),
    ("pods", "must be a mapping"),
])
def test_a_malformed_rule_is_a_one_line_error(rule: Any, reason: str) -> None:
    with pytest.raises(ValueError) as err:
        Rule.parse(rule)
    assert reason in str(err.value) and "\n" not in str(err.value)


# -- rendered manifests --------------------------------------------------------------------------

def _role(kind: str, name: str, rules: list[dict[str, Any]], ns: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"kind": kind, "metadata": meta, "rules": rules}


def _binding(kind: str, name: str, role_kind: str, role: str, sa: tuple[str, str], ns: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"kind": kind, "metadata": meta, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                                        "name": role},
            "subjects": [{"kind": "ServiceAccount", "namespace": sa[0], "name": sa[1]}]}


def test_manifests_resolve_to_the_rules_bound_to_a_service_account() -> None:
    objects = [
        _role("ClusterRole", "reader", READ_ONLY), _role("Role", "leases", LEASES, "ops"),
        _role("ClusterRole", "lease-writer", LEASES),
        _binding("ClusterRoleBinding", "reader", "ClusterRole", "reader", ("ops", "tagent")),
        _binding("RoleBinding", "leases", "Role", "leases", ("ops", "tagent"), "ops"),
        _binding("RoleBinding", "other-ns", "ClusterRole", "lease-writer", ("ops", "tagent"), "shop"),
        _binding("ClusterRoleBinding", "someone-else", "ClusterRole", "lease-writer", ("ops", "other")),
        {"kind": "ServiceAccount", "metadata": {"name": "tagent", "namespace": "ops"}},
    ]
    bound = bound_to_service_account(objects, "ops", "tagent")
    assert bound.user == service_account_user("ops", "tagent") == "system:serviceaccount:ops:tagent"
    assert bound.rules == READ_ONLY
    assert bound.roles == {"ops": LEASES, "shop": LEASES}
    with pytest.raises(ValueError, match="refers to Role missing"):
        bound_to_service_account([_binding("RoleBinding", "b", "Role", "missing", ("ops", "tagent"), "ops")],
                                 "ops", "tagent")


def test_a_protobuf_review_that_is_not_one_is_a_400() -> None:
    with pytest.raises(ApiError) as err:
        self_subject_access_review(b"k8s\x00\x12\xff")
    assert err.value.code == 400


# -- against a running sandbox ---------------------------------------------------------------------

@pytest.fixture
def restricted(sandbox: Sandbox, tmp_path: Path) -> Path:
    sandbox.add_token(TOKEN, READ_ONLY, roles={"tagent-system": LEASES}, user=USER)
    return sandbox.write_kubeconfig(tmp_path / "restricted.kubeconfig", token=TOKEN)


def _kubectl(kubeconfig: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not installed: run `make system-deps` (Debian package kubernetes-client)")
    return subprocess.run([binary, f"--kubeconfig={kubeconfig}", f"--cache-dir={tmp / 'kube-cache'}", *args],
                          capture_output=True, text=True, timeout=60)


def test_kubectl_with_a_read_only_role_may_read_but_not_delete(sandbox: Sandbox, restricted: Path,
                                                               kubeconfig: Path, tmp_path: Path) -> None:
    got = _kubectl(restricted, tmp_path, "get", "pods", "-n", "shop", "-o", "name")
    assert got.returncode == 0, got.stderr
    assert "pod/checkout-" in got.stdout
    assert _kubectl(restricted, tmp_path, "logs", "-n", "shop", "deploy/checkout", "--tail=1").returncode == 0

    refused = _kubectl(restricted, tmp_path, "delete", "deploy", "checkout", "-n", "shop")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'Error from server (Forbidden): deployments.apps "checkout" is forbidden: User "tagent" cannot delete '
        'resource "deployments" in API group "apps" in the namespace "shop"')
    nodes = _kubectl(restricted, tmp_path, "get", "nodes")
    assert nodes.returncode == 1
    assert 'cannot list resource "nodes" in API group "" at the cluster scope' in nodes.stderr
    # refused means not done: the admin still sees the deployment
    assert _kubectl(kubeconfig, tmp_path, "get", "deploy", "checkout", "-n", "shop").returncode == 0
    assert [(d["verb"], d["resource"], d["namespace"], d["name"]) for d in sandbox.forbidden()] == [
        ("delete", "deployments", "shop", "checkout"), ("list", "nodes", "", "")]
    assert sandbox.forbidden(user="someone-else") == []


def test_kubectl_auth_can_i_answers_for_the_token(restricted: Path, kubeconfig: Path, tmp_path: Path) -> None:
    def can_i(cfg: Path, *args: str) -> str:
        done = _kubectl(cfg, tmp_path, "auth", "can-i", *args)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout.strip()

    assert can_i(restricted, "list", "pods", "-n", "shop") == "yes"
    assert can_i(restricted, "get", "pods", "--subresource=log", "-n", "shop") == "yes"
    assert can_i(restricted, "delete", "deployments", "-n", "shop") == "no"
    assert can_i(restricted, "patch", "deployments/scale", "-n", "shop") == "no"
    assert can_i(restricted, "create", "leases.coordination.k8s.io", "-n", "tagent-system") == "yes"
    assert can_i(restricted, "create", "leases.coordination.k8s.io", "-n", "shop") == "no"
    assert can_i(kubeconfig, "delete", "deployments", "-n", "shop") == "yes"  # the admin token


def test_the_python_client_gets_a_forbidden_status(sandbox: Sandbox, restricted: Path) -> None:
    api = config.new_client_from_config(config_file=str(restricted))
    try:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        assert core.list_namespaced_pod("shop").items
        assert apps.read_namespaced_deployment("cart", "shop").spec.replicas == 2
        with pytest.raises(ApiException) as err:
            apps.patch_namespaced_deployment_scale("cart", "shop", {"spec": {"replicas": 5}})
        assert err.value.status == 403
        status = json.loads(err.value.body or "{}")
        assert status["kind"] == "Status" and status["reason"] == "Forbidden" and status["code"] == 403
        assert status["details"] == {"name": "cart", "group": "apps", "kind": "deployments"}
        assert 'cannot patch resource "deployments/scale"' in status["message"]
        with pytest.raises(ApiException) as err:
            core.create_namespaced_pod_eviction("x", "shop", client.V1Eviction(metadata=client.V1ObjectMeta(name="x")))
        assert err.value.status == 403
        with pytest.raises(ApiException) as err:  # a watch is refused before it streams
            core.list_node(watch=True, timeout_seconds=1, _preload_content=False)
        assert err.value.status == 403
    finally:
        api.close()
    assert sandbox.store.get(kinds.DEPLOYMENTS, "shop", "cart")["spec"]["replicas"] == 2


def test_unknown_tokens_are_401_and_the_admin_never_consults_the_roles(sandbox: Sandbox, restricted: Path) -> None:
    for token in ("not-a-token", TOKEN.upper(), "-"):
        got = httpx.get(f"{sandbox.url}/api/v1/pods", headers={"Authorization": f"Bearer {token}"})
        assert got.status_code == 401, token
    admin = {"Authorization": f"Bearer {sandbox.token}"}
    assert httpx.get(f"{sandbox.url}/api/v1/nodes", headers=admin).status_code == 200
    assert httpx.get(f"{sandbox.url}/sandbox/v1/faults", headers=admin).status_code == 200
    assert sandbox.authz.calls() == {}  # no role-bound token has called yet: the admin's calls are not judged
    got = httpx.post(f"{sandbox.url}/sandbox/v1/faults", json={"fault": "crashloop", "target": "shop/cart"},
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 403 and got.json()["message"] == (
        'forbidden: User "tagent" cannot create path "/sandbox/v1/faults"')
    assert sandbox.faults() == []
    assert sandbox.authz.calls(USER) == {("create", "", "/sandbox/v1/faults", False): 1}
    with pytest.raises(ValueError, match="admin token"):
        sandbox.add_token(sandbox.token, READ_ONLY)
