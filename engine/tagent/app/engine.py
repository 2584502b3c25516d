"""The engine: sources → detect → guard → incidents/playbooks, wired from one Settings.

This is the only place that builds objects (ARCHITECTURE.md, "composition"). `tagent run`, the demo and the
API all use an `Engine`. Threads: one per source, one dispatcher draining the event queue in order, one
for the rules source (GitOps polling), one ticker for time-driven work (ack timeouts, retries).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from tagent.app.recorder import StoreVersionRecorder
from tagent.clients.exposition import ExpositionClient
from tagent.clients.kubernetes import KubeClient
from tagent.clients.loki import LokiClient
from tagent.clients.prometheus import PrometheusClient
from tagent.detect import Detector
from tagent.errors import ExternalError, TagentError
from tagent.guard import DEFAULT_COOLDOWN_S, Guard
from tagent.model import Decision, Event, NodeInfo, WorkloadInfo, utcnow
from tagent.observability import EngineMetrics
from tagent.policy.gitops import PollStatus, RulesSource
from tagent.policy.ruleset import RuleSet
from tagent.settings import Settings
from tagent.sources.base import Source, rule_queries
from tagent.sources.inventory import InventorySource
from tagent.sources.kubernetes import KubernetesSource
from tagent.sources.logs import LogSource
from tagent.sources.metrics import MetricsSource
from tagent.sources.prometheus import PrometheusQuerySource
from tagent.store import Store

log = logging.getLogger("tagent.engine")
Clock = Callable[[], datetime]


class DecisionHandler(Protocol):
    """What happens after a match: admission by the guard, incidents, playbooks, people."""

    def handle(self, decision: Decision, events: list[Event]) -> object: ...

    def tick(self, now: datetime) -> object: ...


@dataclass
class EngineState:
    started_at: datetime | None = None
    events_seen: int = 0
    decisions: int = 0
    handler_errors: int = 0
    last_error: str = ""
    recent: dict[str, Event] = field(default_factory=dict)  # event id -> event, bounded


class Engine:
    def __init__(self, settings: Settings, *, kube: KubeClient, store: Store, clock: Clock = utcnow,
                 metrics: EngineMetrics | None = None, rules_source: RulesSource | None = None,
                 handler_factory: Callable[[Engine], DecisionHandler] | None = None,
                 source_interval: float | None = None) -> None:
        self.settings = settings
        self.kube = kube
        self.store = store
        self.clock = clock
        self.metrics = metrics or EngineMetrics.create()
        self.rules = rules_source or RulesSource.from_settings(settings, StoreVersionRecorder(store))
        self.guard = Guard(store, settings, clock)
        self.state = EngineState()
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=100_000)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rules_lock = threading.Lock()
        first = self.rules.poll()
        active = self.rules.current()
        if active is None:
            raise TagentError(f"no valid rules version at {settings.rules}: "
                              + ("; ".join(first.problems[:5]) or first.error or "nothing found"))
        self.ruleset: RuleSet = active.ruleset
        self.detector = Detector(active.ruleset.enabled_rules(), active.version.version, clock=clock,
                                 protected_namespaces=tuple(settings.protected_namespaces))
        interval = source_interval if source_interval is not None else settings.metrics_interval
        self.prometheus = PrometheusClient(settings.prometheus_url) if settings.prometheus_url else None
        self.inventory = InventorySource(kube, self._inventory_changed, interval=max(interval, 5.0), clock=clock)
        self.kube_source = KubernetesSource(kube, self.ingest, clock=clock,
                                            on_workloads_changed=self.inventory.refresh)
        exposition = ExpositionClient(settings.metrics_scrape_url) if settings.metrics_scrape_url else None
        self.metrics_source = MetricsSource(self.ingest, prometheus=self.prometheus, kube=kube, exposition=exposition,
                                            interval=interval, clock=clock)
        promql, patterns = rule_queries(self.ruleset.enabled_rules())
        loki = LokiClient(settings.loki_url) if settings.loki_url else None
        self.log_source = LogSource(patterns, self.ingest, kube=None if loki else kube, loki=loki,
                                    interval=interval, clock=clock, resolve_pod=kube.resolve_pod)
        self.sources: list[Source] = [self.inventory, self.kube_source, self.metrics_source, self.log_source]
        self.prom_source: PrometheusQuerySource | None = None
        if self.prometheus is not None:
            self.prom_source = PrometheusQuerySource(
                self.prometheus, promql, self.ingest,
                interval=interval, clock=clock, resolve_pod=kube.resolve_pod)
            self.sources.append(self.prom_source)
        self.chat: object | None = None  # the chat service, set by the wiring that builds the handler
        self.handler: DecisionHandler | None = handler_factory(self) if handler_factory else None

    # -- input ---------------------------------------------------------------------------------------

    def ingest(self, event: Event) -> None:
        """Queue one event for matching (called by sources and by the Alertmanager webhook)."""
        try:
            self._queue.put(event, timeout=5.0)
        except queue.Full:
            self.metrics.bad_input.labels(source="queue_full").inc()
            log.error("event queue full: dropped %s %s on %s", event.kind, event.reason, event.target)

    def process(self, event: Event) -> list[Decision]:
        """Match one event now (the dispatcher's body; tests and the demo may call it directly)."""
        self.metrics.events.labels(source=event.source.value).inc()
        self.state.events_seen += 1
        self._remember(event)
        with self.metrics.match_latency.time():
            decisions = self.detector.process(event)
        for decision in decisions:
            self.state.decisions += 1
            events = [self.state.recent[i] for i in decision.event_ids if i in self.state.recent] or [event]
            self._handle(decision, events)
        return decisions

    def _remember(self, event: Event) -> None:
        recent = self.state.recent
        recent[event.id] = event
        if len(recent) > 5000:
            for key in list(recent)[:1000]:
                recent.pop(key, None)
        if event.kind != "Metric":  # metric samples are many and are summarised by the sources
            try:
                self.store.events.add(event)
            except Exception as exc:  # noqa: BLE001 - a store hiccup must not stop matching; counted
                self.metrics.bad_input.labels(source="store").inc()
                log.warning("could not store event %s: %s", event.id, exc)

    def _handle(self, decision: Decision, events: list[Event]) -> None:
        if self.handler is None:
            rule = self.ruleset.rules.get(decision.rule)
            verdict = self.guard.admit(decision, cooldown=rule.spec.cooldown if rule else DEFAULT_COOLDOWN_S)
            self.metrics.decisions.labels(rule=decision.rule, verdict=verdict.reason).inc()
            return
        try:
            self.handler.handle(decision, events)
        except (TagentError, ExternalError) as exc:
            self.state.handler_errors += 1
            self.state.last_error = str(exc)
            log.error("handling decision %s (%s on %s) failed: %s", decision.id, decision.rule,
                      decision.target, exc)
        except Exception as exc:  # a bug or a database error: counted and shown on the API, logged in full
            self.state.handler_errors += 1
            self.state.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("handling decision %s (%s on %s) failed", decision.id, decision.rule, decision.target)

    def _inventory_changed(self, workloads: list[WorkloadInfo], nodes: list[NodeInfo]) -> None:
        self.store.inventory.replace(workloads, at=self.clock())

    # -- rules ---------------------------------------------------------------------------------------

    def poll_rules(self) -> None:
        """Poll the rules source once and swap matching atomically when a new version activated."""
        result = self.rules.poll()
        if result.status is PollStatus.activated:
            self._activate()
        elif result.status is PollStatus.rejected:
            log.error("rules version %s rejected: %s", result.version[:12], "; ".join(result.problems[:5]))

    def _activate(self) -> None:
        active = self.rules.current()
        if active is None or active.version.version == self.detector.version:
            return
        with self._rules_lock:
            rules = active.ruleset.enabled_rules()
            self.detector.swap(rules, active.version.version)
            self.ruleset = active.ruleset
            promql, patterns = rule_queries(rules)
            self.log_source.set_queries(patterns)
            if self.prom_source is not None:
                self.prom_source.set_queries(promql)
        log.info("rules version %s active (%d rules)", active.version.version[:12], len(rules))

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        self.state.started_at = self.clock()
        self._stop.clear()
        resume = getattr(self.handler, "resume", None)
        if resume is not None:
            resumed = resume()
            if resumed:
                log.info("resumed %d playbook runs interrupted by a restart", len(resumed))
        self.inventory.refresh()
        for source in self.sources:
            source.start()
        for name, target in (("dispatch", self._dispatch), ("rules", self._rules_loop), ("tick", self._tick_loop)):
            thread = threading.Thread(target=target, name=f"tagent-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown: stop sources first, drain the queue, then the loops."""
        for source in self.sources:
            source.stop(timeout)
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        drain = getattr(self.handler, "drain", None)
        if drain is not None:
            drain(timeout)
        close = getattr(self.handler, "close", None)
        if close is not None:
            close()  # stops running playbooks at their next step and ends the worker threads

    def _dispatch(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                if self._stop.is_set():
                    return
                continue
            try:
                self.process(event)
            except Exception:
                self.metrics.bad_input.labels(source="dispatch").inc()
                log.exception("processing event %s failed", event.id)

    def _rules_loop(self) -> None:
        while not self._stop.is_set():
            if self.rules.seconds_until_due() <= 0:
                try:
                    self.poll_rules()
                except Exception:
                    log.exception("rules poll failed")
            self._stop.wait(1.0)

    def _tick_loop(self) -> None:
        last_prune = time.monotonic()
        while not self._stop.wait(0.5):
            if self.handler is not None:
                try:
                    self.handler.tick(self.clock())
                except Exception:
                    log.exception("tick failed")
            if time.monotonic() - last_prune > 3600:
                last_prune = time.monotonic()
                try:
                    self.store.prune_events(self.clock() - timedelta(days=7))
                except Exception:  # a locked database must not end Night Mode and retries: logged, next hour
                    log.exception("pruning old events failed")

    # -- views for the API ---------------------------------------------------------------------------

    def ready(self) -> dict[str, bool]:
        cluster = True
        try:
            self.kube.list_nodes()
        except ExternalError:
            cluster = False
        return {"store": self.store.ping(), "cluster": cluster, "rules": self.rules.current() is not None}

    def source_stats(self) -> dict[str, dict[str, int]]:
        return {s.name: dict(s.stats) for s in self.sources}
