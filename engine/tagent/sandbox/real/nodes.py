"""The scenario's nodes on the real API server: registered as a kubelet registers itself (a Node with its
status), then kept alive by Lease heartbeats in `kube-node-lease` every 10 s (what the node lifecycle
controller watches) and a status heartbeat every minute."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient
from tagent.clients.kubernetes.mutations import MERGE
from tagent.errors import ExternalError
from tagent.sandbox import objects
from tagent.sandbox.clock import rfc3339
from tagent.sandbox.scenario import NodeSpec

log = logging.getLogger("tagent.sandbox.real")
LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40
RENEW_EVERY = 10.0
STATUS_EVERY = 60.0


def node_ip(index: int) -> str:
    return f"10.0.0.{10 + index}"


def node_object(spec: NodeSpec, index: int, now: datetime, version: str = "") -> dict[str, Any]:
    """The Node as the emulator builds it, minus what the API server sets itself; `version`: the kubelet's
    (this control plane's release: kubelets run the control plane's version or an older one)."""
    node = objects.node(spec.name, node_ip(index), spec.cpu, spec.memory, spec.pods, spec.zone, rfc3339(now),
                        rfc3339(now), control_plane=False)
    if version:
        node["status"]["nodeInfo"].update(kubeletVersion=version, kubeProxyVersion=version)
    node["metadata"].pop("creationTimestamp", None)
    node.update(apiVersion="v1", kind="Node")
    return node


def _micro(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NodeAgent:
    """Registers the nodes and heartbeats them in a thread until `stop()`."""

    def __init__(self, kube: KubeClient, nodes: tuple[NodeSpec, ...], version: str = "") -> None:
        self.kube, self.nodes, self.version = kube, nodes, version
        self.leases = k8s.CoordinationV1Api(kube.api_client)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        now = datetime.now(UTC)
        for i, spec in enumerate(self.nodes):
            body = node_object(spec, i, now, self.version)
            try:
                self.kube.call_json(f"register node {spec.name}", self.kube.core.create_node, body)
            except ExternalError as exc:
                if "HTTP 409" not in str(exc):
                    raise
            self._status(spec, i, now)
            self._renew(spec.name, now)

    def _status(self, spec: NodeSpec, index: int, now: datetime) -> None:
        status = node_object(spec, index, now, self.version)["status"]
        self.kube.call_json(f"status of node {spec.name}", self.kube.core.patch_node_status, spec.name,
                            {"status": status}, _content_type=MERGE)

    def _renew(self, name: str, now: datetime) -> None:
        spec = {"holderIdentity": name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": _micro(now)}
        try:
            self.kube.call_json(f"renew the lease of {name}", self.leases.patch_namespaced_lease, name,
                                LEASE_NAMESPACE, {"spec": spec}, _content_type=MERGE)
        except ExternalError as exc:
            if "HTTP 404" not in str(exc):
                raise
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": LEASE_NAMESPACE}, "spec": spec}
            self.kube.call_json(f"create the lease of {name}", self.leases.create_namespaced_lease,
                                LEASE_NAMESPACE, lease)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-node-heartbeats", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_status = datetime.now(UTC)
        while not self._stop.wait(RENEW_EVERY):
            now = datetime.now(UTC)
            try:
                for i, spec in enumerate(self.nodes):
                    self._renew(spec.name, now)
                    if (now - last_status).total_seconds() >= STATUS_EVERY:
                        self._status(spec, i, now)
            except ExternalError as exc:
                log.warning("node heartbeat failed: %s", exc)
            if (now - last_status).total_seconds() >= STATUS_EVERY:
                last_status = now

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
