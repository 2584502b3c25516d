"""Tagent's own Prometheus metrics. Every metric takes `registry=` so tests get a fresh registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class EngineMetrics:
    registry: CollectorRegistry
    events: Counter
    bad_input: Counter
    decisions: Counter
    actions: Counter
    match_latency: Histogram
    open_incidents: Gauge
    source_problems: Gauge
    intake_waiting: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> EngineMetrics:
        reg = registry if registry is not None else CollectorRegistry()
        return cls(
            registry=reg,
            events=Counter("tagent_events", "Events received, by source", ["source"], registry=reg),
            bad_input=Counter("tagent_bad_input", "Malformed or failed input, by source", ["source"], registry=reg),
            decisions=Counter("tagent_decisions", "Decisions, by rule and verdict", ["rule", "verdict"],
                              registry=reg),
            actions=Counter("tagent_actions", "Playbook steps, by action and status", ["action", "status"],
                            registry=reg),
            match_latency=Histogram("tagent_match_seconds", "Time to match one event", registry=reg,
                                    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)),
            open_incidents=Gauge("tagent_open_incidents", "Incidents not resolved", registry=reg),
            source_problems=Gauge("tagent_source_problems", "Bad input and failures counted by each source",
                                  ["source", "what"], registry=reg),
            intake_waiting=Gauge("tagent_intake_waiting", "Events received and not yet matched (a storm's backlog)",
                                 registry=reg),
        )
