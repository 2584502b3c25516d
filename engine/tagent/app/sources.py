"""The engine's event sources, built in one place from what the composition root has, and the queue they
feed (`Intake`). The engine only starts, stops and re-points them (a rules reload changes the PromQL and log
queries)."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tagent.clients.exposition import ExpositionClient
from tagent.clients.kubernetes import KubeClient
from tagent.clients.loki import LokiClient
from tagent.clients.prometheus import PrometheusClient
from tagent.cloud.aws import AwsCloud
from tagent.model import Event, NodeInfo, WorkloadInfo
from tagent.observability import EngineMetrics
from tagent.policy.ruleset import RuleSet
from tagent.settings import Settings
from tagent.sources.base import Source, rule_queries
from tagent.sources.cloud import CloudSource, cloud_queries
from tagent.sources.inventory import InventorySource
from tagent.sources.kubernetes import KubernetesSource
from tagent.sources.logs import LogSource
from tagent.sources.metrics import MetricsSource
from tagent.sources.prometheus import PrometheusQuerySource
from tagent.store import Store
from tagent.traces.runtimes import OtelRuntimes
from tagent.traces.service import Traces
from tagent.traces.source import TracesSource, trace_queries

log = logging.getLogger("tagent.engine")
CLOUD_MIN_INTERVAL = 60.0  # CloudWatch holds 1-minute datapoints at best: polling faster only costs API calls


class Intake:
    """The queue between the sources (and the Alertmanager webhook) and the dispatcher."""

    def __init__(self, metrics: EngineMetrics, maxsize: int = 100_000) -> None:
        self.metrics = metrics
        self.queue: queue.Queue[Event | None] = queue.Queue(maxsize=maxsize)

    def ingest(self, event: Event) -> None:
        try:
            self.queue.put(event, timeout=5.0)
        except queue.Full:
            self.metrics.bad_input.labels(source="queue_full").inc()
            log.error("event queue full: dropped %s %s on %s", event.kind, event.reason, event.target)


@dataclass
class Sources:
    inventory: InventorySource
    kube: KubernetesSource
    metrics: MetricsSource
    logs: LogSource
    prom: PrometheusQuerySource | None = None
    cloud: CloudSource | None = None  # AWS servers and groups, when TAGENT_AWS_REGIONS names regions
    traces: TracesSource | None = None  # the rules' `traces` conditions (attach_traces)
    all: list[Source] = field(default_factory=list)
    remote: list[Sources] = field(default_factory=list)  # the remote clusters' (tagent.app.clusters)

    def set_queries(self, ruleset: RuleSet) -> None:
        """Point the query sources at the active rules' PromQL, log patterns and cloud conditions."""
        rules = ruleset.enabled_rules()
        promql, patterns = rule_queries(rules)
        self.logs.set_queries(patterns)
        if self.prom is not None:
            self.prom.set_queries(promql)
        if self.cloud is not None:
            self.cloud.set_queries(cloud_queries(rules))
        if self.traces is not None:
            self.traces.set_queries(trace_queries(rules))
        for remote in self.remote:
            remote.set_queries(ruleset)


@dataclass(frozen=True)
class Have:
    """What a source row may use."""

    settings: Settings
    kube: KubeClient
    store: Store
    ingest: Callable[[Event], None]
    clock: Callable[[], datetime]
    interval: float
    ruleset: RuleSet
    prometheus: PrometheusClient | None
    aws: AwsCloud | None = None
    cluster: str = ""  # the cluster `kube` reaches ("": home); its inventory rows carry it


def build_sources(have: Have) -> Sources:
    s, kube, clock, interval = have.settings, have.kube, have.clock, have.interval
    promql, patterns = rule_queries(have.ruleset.enabled_rules())

    def inventory_changed(workloads: list[WorkloadInfo], nodes: list[NodeInfo]) -> None:
        if have.cluster:
            workloads = [w.model_copy(update={"ref": w.ref.model_copy(update={"cluster": have.cluster})})
                         for w in workloads]
        have.store.inventory.replace(workloads, at=clock(), cluster=have.cluster)

    inventory = InventorySource(kube, inventory_changed, interval=max(interval, 5.0), clock=clock)
    loki = LokiClient(s.loki_url) if s.loki_url else None
    exposition = ExpositionClient(s.metrics_scrape_url) if s.metrics_scrape_url else None
    kube_source = KubernetesSource(kube, have.ingest, clock=clock, on_workloads_changed=inventory.refresh)
    metrics = MetricsSource(have.ingest, prometheus=have.prometheus, kube=kube, exposition=exposition,
                            interval=interval, clock=clock)
    logs = LogSource(patterns, have.ingest, kube=None if loki else kube, loki=loki, interval=interval, clock=clock,
                     resolve_pod=kube.resolve_pod)
    prom = None if have.prometheus is None else PrometheusQuerySource(
        have.prometheus, promql, have.ingest, interval=interval, clock=clock, resolve_pod=kube.resolve_pod)
    cloud = None if have.aws is None else CloudSource(
        have.aws, have.aws.settings, cloud_queries(have.ruleset.enabled_rules()), have.ingest,
        interval=max(interval, CLOUD_MIN_INTERVAL), clock=clock)
    table: list[Source | None] = [inventory, kube_source, metrics, logs, prom, cloud]  # start order
    return Sources(inventory=inventory, kube=kube_source, metrics=metrics, logs=logs, prom=prom, cloud=cloud,
                   all=[source for source in table if source is not None])


def attach_traces(sources: Sources, traces: Traces, have: Have) -> TracesSource:
    """Add the source of the rules' `traces` conditions, reading RED from `traces` (tagent.traces.Traces);
    it starts with the others."""
    source = TracesSource(traces, trace_queries(have.ruleset.enabled_rules()), have.ingest,
                          workloads=lambda: sources.inventory.workloads, interval=have.interval, clock=have.clock)
    sources.traces = source
    sources.all.append(source)
    sources.inventory.refine = OtelRuntimes(traces)  # a workload's spans name its runtime
    return source
