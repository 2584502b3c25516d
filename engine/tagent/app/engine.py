"""The engine: sources → detect → incidents (guard, playbooks, people), running what tagent.app.build built.

Nothing here builds a part: the composition root (`build_engine`) builds every one and passes them in
(`EngineParts`). Threads: one per source, one dispatcher draining the event queue in batches (each batch is
one lifecycle transaction), one for the rules source (GitOps polling), one ticker for time-driven work (Night
Mode, retries, the quiet sweep), plus the incident lifecycle's playbook workers and outbox.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tagent.app.clusters import Clusters
from tagent.app.drafting import Drafting
from tagent.app.leader import Elector
from tagent.app.sources import Intake, Sources
from tagent.chat.servers import ServerChat
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.clients.prometheus import PrometheusClient
from tagent.detect import Detector
from tagent.errors import ExternalError, TagentError
from tagent.guard import DEFAULT_COOLDOWN_S, Guard
from tagent.incidents import IncidentService
from tagent.model import Decision, Event
from tagent.observability import EngineMetrics
from tagent.policy.gitops import PollStatus, RulesSource
from tagent.policy.ruleset import RuleSet
from tagent.settings import Settings
from tagent.sources.base import Source
from tagent.store import Store
from tagent.traces.service import Traces

log = logging.getLogger("tagent.engine")
TICK_DEFER_MAX_S = 2.0  # while decisions keep coming the tick waits, at most this long
Clock = Callable[[], datetime]


@dataclass
class EngineState:
    started_at: datetime | None = None
    events_seen: int = 0
    decisions: int = 0
    handler_errors: int = 0
    last_error: str = ""
    recent: dict[str, Event] = field(default_factory=dict)  # event id -> event, bounded


@dataclass
class ActiveRules:
    """The rules in force, shared by the engine (which swaps them) and the incident lifecycle (which reads them)."""

    ruleset: RuleSet

    def get(self) -> RuleSet:
        return self.ruleset


@dataclass
class EngineParts:
    """Everything the engine runs, built by the composition root (tagent.app.build) and passed in."""

    kube: KubeClient
    store: Store
    clock: Clock
    metrics: EngineMetrics
    guard: Guard
    rules: RulesSource
    active: ActiveRules
    detector: Detector
    intake: Intake
    sources: Sources
    prometheus: PrometheusClient | None = None
    clusters: Clusters | None = None  # the clusters watched (tagent.app.clusters); None: only the home one
    incidents: IncidentService | None = None
    chat: ChatService | ServerChat | None = None  # ServerChat: Kubernetes and AWS servers
    drafting: Drafting | None = None
    leader: Elector | None = None  # with leader election: only the Lease's holder runs `start` (docs/ha.md)
    traces: Traces | None = None  # spans in (OTLP), RED and trace queries out


def freeze_startup_heap() -> None:
    """Collect, then move every object alive now (modules, rules, clients: they live as long as the process) out
    of the garbage collector's view: a full collection otherwise walks all of them, ~0.1 s in the middle of a
    storm. For a process that runs one engine (`tagent run`, the benchmarks), called once it started."""
    gc.collect()
    gc.freeze()


class Engine:
    def __init__(self, settings: Settings, parts: EngineParts, *, batch: int = 256) -> None:
        self.settings = settings
        self.kube, self.store, self.clock, self.metrics = parts.kube, parts.store, parts.clock, parts.metrics
        self.guard, self.rules, self.active, self.detector = parts.guard, parts.rules, parts.active, parts.detector
        self.intake, self.prometheus = parts.intake, parts.prometheus
        self.incidents, self.chat, self.drafting = parts.incidents, parts.chat, parts.drafting
        self.leader = parts.leader
        self.traces = parts.traces
        self.sources: list[Source] = list(parts.sources.all)
        self._sources = parts.sources
        self.inventory = parts.sources.inventory
        self.clusters = parts.clusters or Clusters(home=settings.cluster_name, kube=parts.kube)
        self.batch = batch  # events the dispatcher matches and admits per transaction, at most
        self.metrics.intake_waiting.set_function(self.intake.queue.qsize)
        self.state = EngineState()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rules_lock = threading.Lock()

    @property
    def ruleset(self) -> RuleSet:
        return self.active.ruleset

    @property
    def handler(self) -> IncidentService | None:
        """The incident lifecycle (the name the API's callers used before tagent.incidents)."""
        return self.incidents

    # -- input ---------------------------------------------------------------------------------------

    def ingest(self, event: Event) -> None:
        """Queue one event for matching (called by sources and by the Alertmanager webhook)."""
        self.intake.ingest(event)

    def process(self, event: Event) -> list[Decision]:
        """Match one event now and admit its decisions (a batch of one; tests and the demo call it directly)."""
        return self.process_batch([event])

    def process_batch(self, events: list[Event]) -> list[Decision]:
        """Match a batch of events in order, then admit every decision, with the events and the verdicts, in one
        transaction (the dispatcher's body)."""
        items: list[tuple[Decision, list[Event]]] = []
        counted: dict[str, int] = {}
        for event in events:
            counted[event.source.value] = counted.get(event.source.value, 0) + 1
            self.state.events_seen += 1
            self._remember(event)
            started = time.perf_counter()
            decisions = self.detector.process(event)
            self.metrics.match_latency.observe(time.perf_counter() - started)
            for decision in decisions:
                self.state.decisions += 1
                matched = [self.state.recent[i] for i in decision.event_ids if i in self.state.recent] or [event]
                items.append((decision, matched))
        for source, n in counted.items():
            self.metrics.events.labels(source=source).inc(n)
        self._handle(items, [e for e in events if e.kind != "Metric"])
        return [d for d, _ in items]

    def _remember(self, event: Event) -> None:
        recent = self.state.recent
        recent[event.id] = event
        if len(recent) > 5000:
            for key in list(recent)[:1000]:
                recent.pop(key, None)

    def _handle(self, items: list[tuple[Decision, list[Event]]], events: list[Event]) -> None:
        try:
            if self.incidents is None:
                self._judge_only(items, events)
                return
            if items or events:
                self.incidents.handle_batch(items, events)
        except (TagentError, ExternalError) as exc:
            self.state.handler_errors += 1
            self.state.last_error = str(exc)
            log.error("handling %d decisions failed: %s", len(items), exc)
        except Exception as exc:  # a bug or a database error: counted and shown on the API, logged in full
            self.state.handler_errors += 1
            self.state.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("handling %d decisions failed", len(items))

    def _judge_only(self, items: list[tuple[Decision, list[Event]]], events: list[Event]) -> None:
        """Without an incident lifecycle (a read-only view of the engine): store, judge and count."""
        if events:
            self.store.events.add_many(events)
        for decision, _ in items:
            rule = self.ruleset.rules.get(decision.rule)
            verdict = self.guard.admit(decision, cooldown=rule.spec.cooldown if rule else DEFAULT_COOLDOWN_S)
            self.metrics.decisions.labels(rule=decision.rule, verdict=verdict.reason).inc()

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
            self.active.ruleset = active.ruleset
            self._sources.set_queries(active.ruleset)
        log.info("rules version %s active (%d rules)", active.version.version[:12], len(rules))

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self, *, sources: bool = True) -> None:
        """Resume interrupted runs, start the sources (unless `sources` is False: a benchmark feeds `ingest`
        itself), the dispatcher, the rules poller and the ticker."""
        self.state.started_at = self.clock()
        self._stop.clear()
        if self.incidents is not None:
            resumed = self.incidents.resume()
            if resumed:
                log.info("resumed %d playbook runs interrupted by a restart", len(resumed))
        self.inventory.refresh()
        if self.traces is not None:
            self.traces.start()  # the span writer and its retention sweep
        for source in self.sources if sources else ():
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
        self.intake.queue.put(None)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        if self.incidents is not None:
            self.incidents.drain(timeout)
            self.incidents.close()  # stops running playbooks at their next step and ends the worker threads
        if self.drafting is not None:
            self.drafting.drain(timeout)
        if self.traces is not None:
            self.traces.stop(timeout)  # writes what is queued first

    def _dispatch(self) -> None:
        """Take what is queued (up to `batch` events) and process it as one batch: one transaction for all of
        it, however many events a storm brings."""
        q = self.intake.queue
        while True:
            first = q.get()
            stop = first is None
            batch = [] if first is None else [first]
            while len(batch) < self.batch:
                try:
                    more = q.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            if batch:
                try:
                    self.process_batch(batch)
                except Exception:
                    self.metrics.bad_input.labels(source="dispatch").inc()
                    log.exception("processing %d events failed", len(batch))
            if stop and self._stop.is_set():
                return

    def _rules_loop(self) -> None:
        while not self._stop.is_set():
            if self.rules.seconds_until_due() <= 0:
                try:
                    self.poll_rules()
                except Exception:
                    log.exception("rules poll failed")
            self._stop.wait(1.0)

    def _tick_loop(self) -> None:
        last_prune = last_tick = time.monotonic()
        while not self._stop.wait(0.5):
            if self.incidents is not None and self.incidents.p.storming() \
                    and time.monotonic() - last_tick < TICK_DEFER_MAX_S:
                continue  # a storm's admission first: retries, sweeps and expiries can wait a moment
            last_tick = time.monotonic()
            if self.incidents is not None:
                try:
                    self.incidents.tick(self.clock())
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
