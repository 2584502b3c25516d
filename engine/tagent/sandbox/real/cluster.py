"""`RealSandbox`: the sandbox scenario on a real control plane (`tagent sandbox up --control-plane real`).

    with RealSandbox() as sb:                  # port=0, scenario=None, seed=None, state_dir=None, bin_dir=None
        sb.write_kubeconfig(path)              # admin kubeconfig (kubectl, the engine)
        sb.inject("crashloop", "shop", "cart") # the same faults as the emulator, through the API
        sb.metrics_url                         # Prometheus exposition of the simulated pods

It starts the control plane, gives the simulated kubelet its own identity (a static token bound by RBAC to
what a kubelet does), creates the scenario's namespaces, workloads, Services and PodDisruptionBudgets through
the API, registers the nodes and starts the kubelet. Deployments, ReplicaSets, rollout history, scheduling
and garbage collection are the real controllers' work.
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from tagent.clients.kubernetes import KubeClient
from tagent.errors import ExternalError, ValidationError
from tagent.sandbox import objects
from tagent.sandbox.metrics import CONTENT_TYPE
from tagent.sandbox.real import faults as real_faults
from tagent.sandbox.real.controlplane import KUBELET_USER, ControlPlane
from tagent.sandbox.real.nodes import LEASE_NAMESPACE, NodeAgent
from tagent.sandbox.real.simkubelet import SimKubelet
from tagent.sandbox.router import METRICS_PATH
from tagent.sandbox.scenario import Scenario, default_scenario, load_scenario

log = logging.getLogger("tagent.sandbox.real")
KUBELET_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch", "create", "patch", "update"]},
    {"apiGroups": [""], "resources": ["nodes/status", "pods/status"], "verbs": ["patch", "update"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "delete"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
]
NAMESPACED_RULES: dict[str, list[dict[str, Any]]] = {
    LEASE_NAMESPACE: [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                       "verbs": ["get", "create", "update", "patch"]}],
    real_faults.NAMESPACE: [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
}


class RealSandbox:
    def __init__(self, port: int = 0, scenario: Scenario | Path | str | None = None, seed: int | None = None,
                 state_dir: Path | None = None, bin_dir: Path | None = None) -> None:
        if isinstance(scenario, str | Path):
            scenario = load_scenario(Path(scenario))
        self.scenario = scenario or default_scenario()
        self.control_plane = ControlPlane(port=port, state_dir=state_dir, bin_dir=bin_dir)
        self.seed = seed
        self.admin: KubeClient | None = None
        self.kubelet: SimKubelet | None = None
        self.nodes: NodeAgent | None = None
        self._metrics: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()

    @property
    def server(self) -> str:
        return self.control_plane.server

    @property
    def metrics_url(self) -> str:
        assert self._metrics is not None, "the sandbox is not started"
        return f"http://127.0.0.1:{self._metrics.server_address[1]}{METRICS_PATH}"

    def write_kubeconfig(self, path: Path | str, token: str | None = None, namespace: str = "default") -> Path:
        return self.control_plane.write_kubeconfig(Path(path), token, namespace)

    def start(self) -> RealSandbox:
        try:
            self.control_plane.start()
            self.admin = KubeClient.from_kubeconfig(self.control_plane.kubeconfig)
            self._authorize_kubelet()
            self._populate()
            kubelet_kube = KubeClient.from_kubeconfig(
                self.write_kubeconfig(self.control_plane.dir / "kubelet.kubeconfig", self.control_plane.kubelet_token))
            version = str(self.control_plane.api("GET", "/version").get("gitVersion", ""))
            self.nodes = NodeAgent(kubelet_kube, self.scenario.spec.nodes, version)
            self.nodes.register()
            self.nodes.start()
            self.kubelet = SimKubelet(kubelet_kube, self.scenario, self.seed)
            self.kubelet.start()
            self._serve_metrics()
            if self.scenario.spec.script:
                threading.Thread(target=self._run_script, name="sandbox-script", daemon=True).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._metrics is not None:
            self._metrics.shutdown()
            self._metrics.server_close()
            self._metrics = None
        parts = [p for p in (self.kubelet, self.nodes) if p is not None]
        for part in parts:  # asked to stop; a watch waiting on the server ends when the server goes away
            part.stop(timeout=0)
        self.control_plane.stop()
        for part in parts:
            part.stop()

    def __enter__(self) -> RealSandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def inject(self, fault: str, namespace: str, name: str, **params: float) -> dict[str, Any]:
        assert self.admin is not None, "the sandbox is not started"
        return real_faults.RealFaults(self.admin).inject(fault, namespace, name, dict(params))

    def faults(self) -> list[dict[str, Any]]:
        assert self.admin is not None, "the sandbox is not started"
        return real_faults.RealFaults(self.admin).active()

    def _run_script(self) -> None:
        """The scenario's timed faults, `at` seconds of wall time after the start (the emulator's are sandbox
        seconds: the same at speed 1)."""
        began = time.monotonic()
        for step in sorted(self.scenario.spec.script, key=lambda s: s.at):
            if self._stopping.wait(max(0.0, began + step.at - time.monotonic())):
                return
            ns, name = step.target.split("/", 1)
            try:
                self.inject(step.fault, ns, name, **step.params)
                log.info("scenario: injected %s into %s", step.fault, step.target)
            except (ValidationError, ExternalError) as exc:
                log.warning("scenario: cannot inject %s into %s: %s", step.fault, step.target, exc)

    # -- building the cluster ------------------------------------------------------------------------
    def _create(self, what: str, func: Any, *args: Any) -> None:
        assert self.admin is not None
        try:
            self.admin.call_json(what, func, *args)
        except ExternalError as exc:
            if "HTTP 409" not in str(exc):  # already there (a reused state directory)
                raise

    def _authorize_kubelet(self) -> None:
        assert self.admin is not None
        rbac = _rbac(self.admin)
        name = "tagent-sandbox-kubelet"
        subject = [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": KUBELET_USER}]
        self._create("namespace", self.admin.core.create_namespace,
                     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": real_faults.NAMESPACE}})
        self._create("cluster role", rbac.create_cluster_role, {"metadata": {"name": name}, "rules": KUBELET_RULES})
        self._create("cluster role binding", rbac.create_cluster_role_binding, {
            "metadata": {"name": name}, "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}})
        for ns, rules in NAMESPACED_RULES.items():
            self._create("role", rbac.create_namespaced_role, ns, {"metadata": {"name": name}, "rules": rules})
            self._create("role binding", rbac.create_namespaced_role_binding, ns, {
                "metadata": {"name": name}, "subjects": subject,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}})

    def _populate(self) -> None:
        """The scenario's objects, built as the emulator builds them, created through the API."""
        assert self.admin is not None
        core, apps = self.admin.core, self.admin.apps
        from kubernetes import client as k8s

        policy = k8s.PolicyV1Api(self.admin.api_client)
        spec = self.scenario.spec
        for ns in dict.fromkeys([*spec.namespaces, *(w.namespace for w in spec.workloads)]):
            if ns not in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self._create(f"namespace {ns}", core.create_namespace, _clean(objects.namespace(ns), "v1", "Namespace"))
        for i, w in enumerate(spec.workloads):
            labels = {"app": w.name, "app.kubernetes.io/name": w.name, **w.labels}
            c = objects.container(w.name, w.image, w.port, w.requests.as_dict(), w.limits.as_dict(), w.version)
            template = objects.pod_template(labels, [c])
            if w.kind == "Deployment":
                body = _clean(objects.deployment(w.name, w.namespace, labels, w.replicas, template, ""),
                              "apps/v1", "Deployment")
                self._create(f"deployment {w.name}", apps.create_namespaced_deployment, w.namespace, body)
            else:
                body = _clean(objects.statefulset(w.name, w.namespace, labels, w.replicas, template, ""),
                              "apps/v1", "StatefulSet")
                self._create(f"statefulset {w.name}", apps.create_namespaced_stateful_set, w.namespace, body)
            if w.port:
                svc = objects.service(w.name, w.namespace, labels, w.port, f"10.96.{i // 200}.{10 + i % 200}", "")
                self._create(f"service {w.name}", core.create_namespaced_service, w.namespace,
                             _clean(svc, "v1", "Service"))
            if w.min_available is not None:
                pdb = objects.pdb(w.name, w.namespace, w.name, w.min_available, "")
                self._create(f"pdb {w.name}", policy.create_namespaced_pod_disruption_budget, w.namespace,
                             _clean(pdb, "policy/v1", "PodDisruptionBudget"))

    def _serve_metrics(self) -> None:
        assert self.kubelet is not None
        kubelet: SimKubelet = self.kubelet

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0].rstrip("/")
                if path != METRICS_PATH and not path.startswith(METRICS_PATH + "/"):
                    self.send_error(404)
                    return
                namespace = path[len(METRICS_PATH) + 1:] or None
                body = kubelet.exposition(namespace).encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._metrics = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._metrics.daemon_threads = True
        threading.Thread(target=self._metrics.serve_forever, name="sandbox-metrics", daemon=True).start()


def _rbac(kube: KubeClient) -> Any:
    from kubernetes import client as k8s

    return k8s.RbacAuthorizationV1Api(kube.api_client)


def _clean(obj: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """Without what the API server sets (status, creationTimestamp)."""
    obj = {k: v for k, v in obj.items() if k != "status"}
    obj["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "creationTimestamp"}
    obj.update(apiVersion=api_version, kind=kind)
    return obj
