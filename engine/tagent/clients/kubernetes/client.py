"""KubeClient: every Kubernetes API call Tagent makes, through the official client (reads here, mutations in
`mutations.py`, watches in `watch.py`). The `ApiClient` is a constructor parameter: the seam for tests
(point it at the sandbox cluster) and for wiring (one client per cluster)."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tagent.clients.kubernetes import convert
from tagent.clients.kubernetes.errors import api_errors
from tagent.clients.kubernetes.mutations import Mutations
from tagent.clients.kubernetes.types import DeploymentInfo, KubeEvent, NodeUsage, PodInfo, PodUsage, WatchEvent
from tagent.clients.kubernetes.watch import Watcher
from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.model.core import WorkloadRef
from tagent.model.inventory import NodeInfo, WorkloadInfo

Selector = Mapping[str, str] | str | None
T = TypeVar("T")
log = logging.getLogger("tagent.clients.kubernetes")


def _workload(obj: dict[str, Any], kind: str) -> WorkloadInfo:
    return convert.workload_info(obj, kind)


def selector_string(selector: Selector) -> str | None:
    if selector is None or isinstance(selector, str):
        return selector or None
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or None


class KubeClient(Mutations):
    """Typed reads, watches and mutations over one cluster. Every failure is a Permanent/TransientError."""

    def __init__(self, api_client: k8s.ApiClient, *, request_timeout: float = 30.0) -> None:
        self.api_client = api_client
        self.request_timeout = request_timeout
        self.core = k8s.CoreV1Api(api_client)
        self.apps = k8s.AppsV1Api(api_client)
        self.custom = k8s.CustomObjectsApi(api_client)
        self.stats: Counter[str] = Counter()  # malformed objects skipped by the typed reads
        self._owners: dict[tuple[str, str], WorkloadRef | None] = {}
        self._owners_lock = threading.Lock()
        # resource -> (list across namespaces, list in one namespace or None for cluster-scoped)
        self.resources: dict[str, tuple[Callable[..., Any], Callable[..., Any] | None]] = {
            "pods": (self.core.list_pod_for_all_namespaces, self.core.list_namespaced_pod),
            "events": (self.core.list_event_for_all_namespaces, self.core.list_namespaced_event),
            "nodes": (self.core.list_node, None),
            "deployments": (self.apps.list_deployment_for_all_namespaces, self.apps.list_namespaced_deployment),
            "statefulsets": (self.apps.list_stateful_set_for_all_namespaces, self.apps.list_namespaced_stateful_set),
            "replicasets": (self.apps.list_replica_set_for_all_namespaces, self.apps.list_namespaced_replica_set),
        }

    @classmethod
    def from_kubeconfig(cls, path: Path | str, context: str | None = None, **kw: Any) -> KubeClient:
        try:
            api = k8s_config.new_client_from_config(config_file=str(path), context=context, persist_config=False)
        except (k8s_config.ConfigException, OSError, ValueError, TypeError, KeyError, yaml.YAMLError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"kubeconfig {path}: {first}") from exc
        return cls(api, **kw)

    @classmethod
    def in_cluster(cls, **kw: Any) -> KubeClient:
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except k8s_config.ConfigException as exc:
            raise ConfigError(f"not running in a cluster and no kubeconfig given: {exc}") from exc
        return cls(k8s.ApiClient(configuration), **kw)

    @classmethod
    def connect(cls, kubeconfig: Path | None, **kw: Any) -> KubeClient:
        """From a kubeconfig path when given (Settings.kubeconfig), else the in-cluster service account."""
        return cls.from_kubeconfig(kubeconfig, **kw) if kubeconfig is not None else cls.in_cluster(**kw)

    def close(self) -> None:
        self.api_client.close()

    # -- raw access -------------------------------------------------------------------------------
    def call_raw(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        """Call an API method without the client's model parsing; return the response body."""
        kwargs.setdefault("_request_timeout", self.request_timeout)
        with api_errors(what):
            response = func(*args, _preload_content=False, **kwargs)
            data: bytes = response.data
        return data

    def call_json(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        data = self.call_raw(what, func, *args, **kwargs)
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise TransientError(f"{what}: response is not JSON") from exc
        if not isinstance(body, dict):
            raise TransientError(f"{what}: response is not a JSON object")
        return body

    def list_raw(self, resource: str, namespace: str | None = None, selector: Selector = None,
                 ) -> tuple[list[dict[str, Any]], str]:
        """(items, list resourceVersion) of a resource, across namespaces when `namespace` is None."""
        all_ns, one_ns = self.resources[resource]
        kwargs: dict[str, Any] = {}
        if (sel := selector_string(selector)) is not None:
            kwargs["label_selector"] = sel
        if namespace and one_ns is not None:
            body = self.call_json(f"list {resource} in {namespace}", one_ns, namespace, **kwargs)
        else:
            body = self.call_json(f"list {resource}", all_ns, **kwargs)
        items = [i for i in body.get("items") or [] if isinstance(i, dict)]
        return items, str((body.get("metadata") or {}).get("resourceVersion") or "")

    def convert_all(self, items: list[dict[str, Any]], convert_one: Callable[[dict[str, Any]], T],
                    what: str) -> list[T]:
        """Convert listed objects, skipping (and counting) the malformed ones instead of failing the list."""
        out = []
        for item in items:
            try:
                out.append(convert_one(item))
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self.stats[f"malformed_{what}"] += 1
                log.warning("skipped a malformed %s object (%s so far): %s", what, self.stats[f"malformed_{what}"],
                            exc)
        return out

    # -- reads ------------------------------------------------------------------------------------
    def list_workloads(self, namespace: str | None = None) -> list[WorkloadInfo]:
        """Deployments and StatefulSets with their inferred runtime (the inventory)."""
        out: list[WorkloadInfo] = []
        for resource, kind in (("deployments", "Deployment"), ("statefulsets", "StatefulSet")):
            items, _ = self.list_raw(resource, namespace)
            out.extend(self.convert_all(items, functools.partial(_workload, kind=kind), resource))
        return out

    def list_nodes(self) -> list[NodeInfo]:
        return self.convert_all(self.list_raw("nodes")[0], convert.node_info, "nodes")

    def list_pods(self, namespace: str | None = None, selector: Selector = None) -> list[PodInfo]:
        return self.convert_all(self.list_raw("pods", namespace, selector)[0], convert.pod_info, "pods")

    def get_pod(self, namespace: str, name: str) -> PodInfo:
        return convert.pod_info(self.call_json(f"get pod {namespace}/{name}", self.core.read_namespaced_pod,
                                               name, namespace))

    def list_deployments(self, namespace: str | None = None, selector: Selector = None) -> list[DeploymentInfo]:
        return self.convert_all(self.list_raw("deployments", namespace, selector)[0], convert.deployment_info,
                                "deployments")

    def get_deployment(self, namespace: str, name: str) -> DeploymentInfo:
        return convert.deployment_info(self.get_deployment_raw(namespace, name))

    def get_deployment_raw(self, namespace: str, name: str) -> dict[str, Any]:
        return self.call_json(f"get deployment {namespace}/{name}", self.apps.read_namespaced_deployment,
                              name, namespace)

    def list_events(self, namespace: str | None = None) -> list[KubeEvent]:
        return self.convert_all(self.list_raw("events", namespace)[0], convert.kube_event, "events")

    def pod_log_bytes(self, namespace: str, pod: str, *, container: str | None = None,
                      tail_lines: int | None = None, since_seconds: int | None = None, previous: bool = False,
                      timestamps: bool = False) -> bytes:
        """A pod's log as served (bytes: a log need not be UTF-8)."""
        kwargs: dict[str, Any] = {k: v for k, v in (("container", container), ("tail_lines", tail_lines),
                                                    ("since_seconds", since_seconds)) if v is not None}
        if previous:
            kwargs["previous"] = True
        if timestamps:
            kwargs["timestamps"] = True
        return self.call_raw(f"logs of pod {namespace}/{pod}", self.core.read_namespaced_pod_log, pod, namespace,
                             **kwargs)

    def pod_logs(self, namespace: str, pod: str, *, tail_lines: int | None = None,
                 since_seconds: int | None = None, container: str | None = None, previous: bool = False) -> str:
        """A pod's log as text (invalid UTF-8 replaced by U+FFFD)."""
        return self.pod_log_bytes(namespace, pod, container=container, tail_lines=tail_lines,
                                  since_seconds=since_seconds, previous=previous).decode("utf-8", "replace")

    def pod_metrics(self, namespace: str | None = None) -> list[PodUsage]:
        """Current CPU (cores) and memory (bytes) per pod from metrics.k8s.io, summed over containers."""
        what = "pod metrics (metrics.k8s.io)"
        if namespace:
            body = self.call_json(what, self.custom.list_namespaced_custom_object, "metrics.k8s.io", "v1beta1",
                                  namespace, "pods")
        else:
            body = self.call_json(what, self.custom.list_cluster_custom_object, "metrics.k8s.io", "v1beta1", "pods")
        return self.convert_all(body.get("items") or [], convert.pod_usage, "pod_metrics")

    def node_metrics(self) -> list[NodeUsage]:
        body = self.call_json("node metrics (metrics.k8s.io)", self.custom.list_cluster_custom_object,
                              "metrics.k8s.io", "v1beta1", "nodes")
        return self.convert_all(body.get("items") or [], convert.node_usage, "node_metrics")

    # -- owners -----------------------------------------------------------------------------------
    def owner_of(self, pod: PodInfo) -> WorkloadRef:
        """The workload a pod belongs to: Pod → ReplicaSet → Deployment, or its StatefulSet/DaemonSet/Job;
        the pod itself when it has no controller."""
        owner = pod.owner
        if owner is None:
            return WorkloadRef(kind="Pod", namespace=pod.namespace, name=pod.name)
        if owner.kind != "ReplicaSet":
            return owner
        found = self._replicaset_owner(pod.namespace, owner.name)
        if found is not None:
            return found
        # the ReplicaSet is gone (or unreadable): a Deployment names it <deployment>-<pod-template-hash>
        suffix = "-" + pod.labels.get("pod-template-hash", "\0")
        if owner.name.endswith(suffix) and len(owner.name) > len(suffix):
            return WorkloadRef(kind="Deployment", namespace=pod.namespace, name=owner.name[: -len(suffix)])
        return owner

    def resolve_pod(self, namespace: str, pod: str) -> WorkloadRef | None:
        """Owner of a pod by name (for series labelled only by pod); None when the pod is gone."""
        try:
            return self.owner_of(self.get_pod(namespace, pod))
        except PermanentError:
            return None

    def _replicaset_owner(self, namespace: str, name: str) -> WorkloadRef | None:
        key = (namespace, name)
        with self._owners_lock:
            if key in self._owners:
                return self._owners[key]
        try:
            rs = self.call_json(f"get replicaset {namespace}/{name}", self.apps.read_namespaced_replica_set,
                                name, namespace)
        except PermanentError:
            return None  # deleted meanwhile: the caller falls back to the ReplicaSet itself
        owner = convert.controller_of(rs)
        with self._owners_lock:
            if len(self._owners) > 10_000:
                self._owners.clear()
            self._owners[key] = owner
        return owner

    # -- watches ----------------------------------------------------------------------------------
    def watcher(self, resource: str, namespace: str | None = None, selector: Selector = None) -> Watcher:
        """A resumable watch of `resource` (pods, deployments, statefulsets, events, nodes, replicasets)."""
        if resource not in self.resources:
            raise PermanentError(f"cannot watch {resource!r}: one of {', '.join(sorted(self.resources))}")
        all_ns, one_ns = self.resources[resource]
        func = one_ns if namespace and one_ns is not None else all_ns
        args = (namespace,) if namespace and one_ns is not None else ()
        return Watcher(self, resource, func, args, selector_string(selector))

    def watch(self, resource: str, namespace: str | None = None, *, selector: Selector = None,
              stop: threading.Event | None = None, timeout_seconds: int = 60,
              stats: Counter[str] | None = None) -> Iterator[WatchEvent]:
        """Watch forever as a generator: SYNC objects (+ SYNCED) after each (re-)list, then changes; resumes
        from the last resourceVersion, re-lists on 410, reconnects with backoff; ends when `stop` is set."""
        watcher = self.watcher(resource, namespace, selector)
        if stats is not None:
            watcher.stats = stats
        return watcher.run(stop, timeout_seconds=timeout_seconds)
