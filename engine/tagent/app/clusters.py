"""Many clusters: one engine (one leader, one guard, one chat) watches its home cluster and the remote ones named
in `TAGENT_CLUSTERS` (docs/architecture.md, Many clusters).

    clusters = connect_clusters(settings, home_kube)      # one KubeClient per cluster; ConfigError on a bad entry
    add_remote_sources(sources, clusters, have)           # per-cluster sources, every event tagged with its cluster

A remote cluster's sources are its own (inventory, Kubernetes watch, metrics, logs, and Prometheus or an
exposition when its entry names one), so a cluster that is down stops nothing else: a `ClusterLink` probes it,
logs one line when it cannot be reached, retries every `retry` seconds and starts the cluster's sources when
it answers. The home cluster is "" in every record (what each record meant before there were several), and
is shown under `TAGENT_CLUSTER_NAME`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from tagent.app.sources import Have, Sources, build_sources
from tagent.clients.kubernetes import KubeClient
from tagent.clients.prometheus import PrometheusClient
from tagent.errors import ConfigError, ExternalError
from tagent.model import Event
from tagent.settings import ClusterSpec, Settings
from tagent.sources.base import Source

log = logging.getLogger("tagent.clusters")
Connect = Callable[[ClusterSpec], KubeClient]


def _connect(spec: ClusterSpec) -> KubeClient:
    return KubeClient.from_kubeconfig(spec.kubeconfig, context=spec.context)


@dataclass(frozen=True)
class Clusters:
    """The clusters one engine watches: the home one ("" in records, shown as `home`) and the remote ones."""

    home: str
    kube: KubeClient
    remote: Mapping[str, KubeClient] = field(default_factory=dict)
    specs: Mapping[str, ClusterSpec] = field(default_factory=dict)

    @property
    def many(self) -> bool:
        return bool(self.remote)

    def names(self) -> list[str]:
        """Every cluster's name as people use it, the home cluster first."""
        return [self.home, *sorted(self.remote)]

    def ident(self, name: str) -> str | None:
        """The record value for a cluster name ("" for the home cluster), or None for a name nobody configured."""
        name = name.strip().lower()
        if name == self.home or name == "":
            return ""
        return name if name in self.remote else None

    def display(self, cluster: str) -> str:
        return cluster or self.home

    def client(self, cluster: str) -> KubeClient:
        if not cluster:
            return self.kube
        try:
            return self.remote[cluster]
        except KeyError:
            raise ConfigError(f"unknown cluster {cluster!r}: one of {', '.join(self.names())}") from None


def connect_clusters(settings: Settings, kube: KubeClient, *, connect: Connect = _connect) -> Clusters:
    """One client per cluster in `settings.clusters` (nothing is contacted yet). A duplicate name, the home
    cluster's name again, a missing kubeconfig or context: one ConfigError line, before anything starts."""
    remote: dict[str, KubeClient] = {}
    specs: dict[str, ClusterSpec] = {}
    for spec in settings.clusters:
        where = f"TAGENT_CLUSTERS: cluster {spec.name!r}"
        if spec.name == settings.cluster_name:
            raise ConfigError(f"{where} has the home cluster's name (TAGENT_CLUSTER_NAME); pick another")
        if spec.name in remote:
            raise ConfigError(f"{where} is named twice")
        if not spec.kubeconfig.is_file():
            raise ConfigError(f"{where}: kubeconfig {spec.kubeconfig} does not exist")
        try:
            remote[spec.name] = connect(spec)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        specs[spec.name] = spec
    return Clusters(home=settings.cluster_name, kube=kube, remote=remote, specs=specs)


def tagged(ingest: Callable[[Event], None], cluster: str) -> Callable[[Event], None]:
    """`ingest`, with every event's target placed in `cluster`."""

    def put(event: Event) -> None:
        target = event.target if event.target.cluster else event.target.model_copy(update={"cluster": cluster})
        ingest(event.model_copy(update={"target": target}))

    return put


def add_remote_sources(sources: Sources, clusters: Clusters, have: Have, *, retry: float | None = None) -> None:
    """Build each remote cluster's sources from `have` (the home cluster's) and hang them under a ClusterLink in
    `sources.all`; `sources.set_queries` re-points them too. An unreachable cluster is probed every `retry`
    seconds (default: the source interval, between 1 and 10 s)."""
    retry = retry if retry is not None else min(10.0, max(1.0, have.interval))
    for name, kube in sorted(clusters.remote.items()):
        spec = clusters.specs[name]
        settings = have.settings.model_copy(update={"loki_url": None, "metrics_scrape_url": spec.metrics_scrape_url})
        prometheus = PrometheusClient(spec.prometheus_url) if spec.prometheus_url else None
        built = build_sources(replace(have, settings=settings, kube=kube, ingest=tagged(have.ingest, name),
                                      prometheus=prometheus, aws=None, cluster=name))
        sources.remote.append(built)
        sources.all.append(ClusterLink(name, kube, built.all, interval=retry))


class ClusterLink(Source):
    """Keeps one remote cluster's sources going: probes the API server every `interval` seconds, starts the
    sources once it answers, and says in one line when it cannot be reached (and when it is back)."""

    name = "cluster"

    def __init__(self, cluster: str, kube: KubeClient, sources: list[Source], *, interval: float = 10.0) -> None:
        super().__init__(lambda _event: None, interval=interval)
        self.cluster, self.kube, self.sources = cluster, kube, sources
        self.reachable: bool | None = None  # None: not probed yet
        self._lock = threading.Lock()

    def poll_once(self) -> int:
        try:
            self.kube.list_nodes()  # what /readyz asks the home cluster too
        except ExternalError as exc:
            if self.reachable is not False:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("cluster %s unreachable: %s (retrying every %gs; the other clusters go on)",
                            self.cluster, first, self.interval)
            self.reachable = False
            self.stats["unreachable"] += 1
            return 0
        if self.reachable is False:
            log.info("cluster %s reachable again", self.cluster)
        self.reachable = True
        with self._lock:
            if not self._stop.is_set():
                for source in self.sources:
                    source.start()  # a no-op for a running source
        return 0

    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        with self._lock:
            for source in self.sources:
                source.stop(timeout)
