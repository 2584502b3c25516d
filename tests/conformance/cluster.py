"""One face for the two API servers of the conformance tier: the emulator (`tagent.sandbox`) and the real
control plane (`real_k8s`: kube-apiserver, etcd, controller manager and scheduler built from Go modules).

Every test gets a fresh namespace on its server, an admin `KubeClient` (the engine's own client), kubectl,
and the few things that differ by nature between the two, each named for what it stands for:
- `make_ready(selector)`: the real control plane has no kubelet, so pods are made Running/Ready through
  `pods/status` as a kubelet would; on the emulator its simulated kubelet does it, and this only waits.
- `expire_watches()`: a resourceVersion the server answers with 410 Gone (the emulator forgets its watch
  history as etcd compaction does; the real API server's watch cache starts after its own start-up, so a
  version from before it is expired).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tagent.clients.kubernetes import KubeClient
from tagent.sandbox import Sandbox
from tagent.sandbox.rbac import bound_to_service_account
from tests.waiting import wait_for

JSON_PATCH = "application/json-patch+json"
MERGE = "application/merge-patch+json"


@dataclass
class Cluster:
    server: str  # "emulator" | "real"
    kubeconfig: Path
    kube: KubeClient
    namespace: str
    tmp: Path
    sandbox: Sandbox | None = None
    real: Any = None  # tests.fixtures.realk8s.RealK8s on the real server
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    # -- clients -------------------------------------------------------------------------------------
    @property
    def api(self) -> k8s.ApiClient:
        return self.kube.api_client

    def kubectl(self, *args: str, check: bool = True, kubeconfig: Path | None = None,
                stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        binary = shutil.which("kubectl")
        assert binary, "kubectl is not installed: run `make system-deps` (Debian package kubernetes-client)"
        cmd = [binary, f"--kubeconfig={kubeconfig or self.kubeconfig}", f"--cache-dir={self.tmp / 'kube-cache'}",
               *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, input=stdin, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} on {self.server} failed: {done.stderr.strip()}")
        return done

    # -- objects -------------------------------------------------------------------------------------
    def create_namespace(self, name: str) -> None:
        core: Any = k8s.CoreV1Api(self.api)  # the typed client takes dicts too
        core.create_namespace({"metadata": {"name": name}})

    def deployment(self, name: str, *, image: str = "registry.example/app:1.0", replicas: int = 2,
                   namespace: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
        ns = namespace or self.namespace
        labels = labels or {"app": name}
        body = {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
                "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                         "template": {"metadata": {"labels": dict(labels)},
                                      "spec": {"containers": [{"name": "app", "image": image,
                                                               "ports": [{"containerPort": 8080}]}]}}}}
        return self.kube.call_json(f"create deployment {name}", self.kube.apps.create_namespaced_deployment, ns,
                                   body)

    def statefulset(self, name: str, *, replicas: int = 1, image: str = "registry.example/db:1.0") -> dict[str, Any]:
        labels = {"app": name}
        body = {"apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
                "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": [{"name": "db", "image": image}]}}}}
        return self.kube.call_json(f"create statefulset {name}", self.kube.apps.create_namespaced_stateful_set,
                                   self.namespace, body)

    def set_image(self, name: str, image: str, namespace: str | None = None) -> None:
        """What `kubectl set image` changes: the first container's image (a new revision)."""
        patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}]
        self.kube.call_json("set image", self.kube.apps.patch_namespaced_deployment, name,
                            namespace or self.namespace, patch, _content_type=JSON_PATCH)

    def replicasets(self, name: str, namespace: str | None = None) -> list[dict[str, Any]]:
        deployment = self.kube.get_deployment_raw(namespace or self.namespace, name)
        uid = deployment["metadata"]["uid"]
        items, _ = self.kube.list_raw("replicasets", namespace or self.namespace)
        return [rs for rs in items if any(r.get("uid") == uid for r in rs["metadata"].get("ownerReferences") or [])]

    def wait_revision(self, name: str, revision: int, namespace: str | None = None) -> dict[str, Any]:
        """The deployment once its controller has made (or renumbered) the ReplicaSet of `revision`."""
        ns = namespace or self.namespace

        def seen() -> dict[str, Any] | None:
            d = self.kube.get_deployment_raw(ns, name)
            rev = (d["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
            observed = (d.get("status") or {}).get("observedGeneration") == d["metadata"].get("generation")
            return d if rev == str(revision) and observed else None

        return wait_for(seen, 30, f"{ns}/{name} at revision {revision} on {self.server}")

    def service_account_kubeconfig(self, objects: list[dict[str, Any]], namespace: str, name: str) -> Path:
        """A kubeconfig holding a token of ServiceAccount namespace/name, with only what the RBAC objects among
        `objects` (a rendered chart) bind to it. Real server: the objects are applied and the token comes from
        the TokenRequest API. Emulator: the same bindings resolved into a token's rules (sandbox.rbac)."""
        path = self.tmp / f"{namespace}-{name}.kubeconfig"
        rbac = [o for o in objects if o["kind"] in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole",
                                                     "ClusterRoleBinding")]
        if self.sandbox is not None:
            bound = bound_to_service_account(rbac, namespace, name)
            token = f"sa-{uuid.uuid4().hex}"
            self.sandbox.add_token(token, bound.rules, roles=bound.roles, user=bound.user)
            return self.sandbox.write_kubeconfig(path, token=token)
        self.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": rbac}))
        cluster_wide = [(o["kind"], o["metadata"]["name"]) for o in rbac if o["kind"].startswith("Cluster")]

        def drop() -> None:
            for kind, name in cluster_wide:
                self.kubectl("delete", kind, name, "--ignore-not-found", check=False)

        self.cleanups.append(drop)
        token = self.real.token_for(namespace, name)
        written: Path = self.real.kubeconfig_for(path, token, namespace)
        return written

    # -- what a kubelet would do -----------------------------------------------------------------------
    def make_ready(self, selector: str, namespace: str | None = None, count: int | None = None) -> None:
        """Every pod matching `selector` Running and Ready (on the emulator: wait for its kubelet)."""
        ns = namespace or self.namespace
        core = k8s.CoreV1Api(self.api)

        def ready_pods() -> bool:
            pods = [p for p in self.kube.list_pods(ns, selector) if not p.deleting]
            return bool(pods) and (count is None or len(pods) == count) and all(p.ready for p in pods)

        if self.sandbox is None:
            def mark() -> bool:
                for pod in self.kube.list_raw("pods", ns, selector)[0]:
                    meta, conditions = pod["metadata"], (pod.get("status") or {}).get("conditions") or []
                    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
                    if not ready and not meta.get("deletionTimestamp"):
                        names = [c["name"] for c in pod["spec"]["containers"]]
                        self.kube.call_json("pod status", core.patch_namespaced_pod_status, meta["name"], ns,
                                            ready_status(names), _content_type=MERGE)
                return ready_pods()
            wait_for(mark, 30, f"pods {selector} ready on {self.server}", interval=0.3)
        else:
            wait_for(ready_pods, 30, f"pods {selector} ready on {self.server}", interval=0.2)

    def expirable(self) -> tuple[str, Callable[[str], None]]:
        """(resource the engine's client can watch, a function creating one object of it by name).

        On the emulator: deployments (its history can be compacted at will). On the real API server a
        watch is served from the watch cache, which keeps every event since the server started until its
        buffer wraps (minutes of traffic); a resource whose cache starts later does expire old versions at
        once: a custom resource, whose cache starts when its definition is created. It is registered in
        the KubeClient's resource table, so the engine's own list+watch code runs on it."""
        if self.sandbox is not None:
            def deploy(name: str) -> None:
                self.deployment(name, replicas=1)

            return "deployments", deploy
        ensure_crd(self)
        custom = self.kube.custom

        def list_all(**kw: Any) -> Any:
            return custom.list_cluster_custom_object(CRD_GROUP, "v1", "widgets", **kw)

        def list_in(namespace: str, **kw: Any) -> Any:
            return custom.list_namespaced_custom_object(CRD_GROUP, "v1", namespace, "widgets", **kw)

        self.kube.resources["widgets"] = (list_all, list_in)

        def create(name: str) -> None:
            custom.create_namespaced_custom_object(CRD_GROUP, "v1", self.namespace, "widgets", {
                "apiVersion": f"{CRD_GROUP}/v1", "kind": "Widget", "metadata": {"name": name}, "spec": {"size": 1}})

        return "widgets", create

    def expire_watches(self) -> str:
        """A resourceVersion whose watch of `expirable()`'s resource the server answers with 410 Gone."""
        if self.sandbox is not None:
            old = str(self.sandbox.store.rv - 1)  # compaction at R keeps what comes after R
            self.sandbox.store.compact()
            return old
        return "1"  # older than the custom resource's watch cache, which started with its definition


def ready_status(containers: list[str]) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    conditions = [{"type": t, "status": "True", "lastTransitionTime": now}
                  for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]
    statuses = [{"name": c, "image": "registry.example/app", "imageID": "", "ready": True, "started": True,
                 "restartCount": 0, "state": {"running": {"startedAt": now}}} for c in containers]
    return {"status": {"phase": "Running", "conditions": conditions, "containerStatuses": statuses,
                       "startTime": now}}


CRD_GROUP = "conformance.tagent.io"


def ensure_crd(c: Cluster) -> None:
    """The Widget custom resource (once per control plane), established."""
    ext: Any = k8s.ApiextensionsV1Api(c.api)
    name = f"widgets.{CRD_GROUP}"
    spec = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema = {"type": "object", "properties": {"spec": spec}}
    body = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": name},
            "spec": {"group": CRD_GROUP, "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}}]}}
    try:
        ext.create_custom_resource_definition(body)
    except ApiException as exc:
        if exc.status != 409:
            raise

    def established() -> bool:
        crd = ext.read_custom_resource_definition(name)
        return any(cond.type == "Established" and cond.status == "True" for cond in crd.status.conditions or [])

    wait_for(established, 30, f"the {name} definition to be established")


def fresh_namespace() -> str:
    return f"conf-{uuid.uuid4().hex[:8]}"
