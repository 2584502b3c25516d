"""The cloud inventory source: servers and server groups of every watched region, and the metrics the active
rules' `cloud` conditions ask for.

Every round lists the servers (state, type, tags, launch time) and groups (desired/min/max) of each region;
`on_change` receives the whole inventory when it differs from the last one (the dashboard and chat read it),
and `cpu` holds each running server's CPUUtilization over the last `cpu_window` (15 minutes).
Then, for each `cloud` condition of the enabled rules (`CloudQuery`, keyed by `condition_key(rule, i)`), it
reads the metric over the condition's window for every running server (or every group) and emits one
`CloudMetric` event whose `value` is the window's average (or maximum). A window not covered by data (an
instance started ten minutes ago has no idle hour) emits nothing and is counted as `insufficient_data`.
The comparison is detect's job, as for PromQL conditions.

Events carry the resource's tags as labels plus three labels rules can select on:
`tagent.io/protected` (true/false: protect tag, protected region or account), `tagent.io/schedule`
(open/closed: inside the idle-stop schedule of the settings), for servers `tagent.io/in-group` (a member of
an Auto Scaling group, which would replace it if stopped) and for groups `tagent.io/at-max`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, NamedTuple

from tagent.cloud.base import CloudProvider, Server, ServerGroup, Usage, group_ref, server_ref
from tagent.cloud.policy import group_protection, server_protection
from tagent.cloud.settings import AwsSettings
from tagent.errors import PermanentError, TransientError
from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.model.policy import Rule, condition_key
from tagent.sources.base import Clock, Emit, Source

PROTECTED_LABEL = "tagent.io/protected"
SCHEDULE_LABEL = "tagent.io/schedule"
AT_MAX_LABEL = "tagent.io/at-max"
IN_GROUP_LABEL = "tagent.io/in-group"  # an Auto Scaling group member: the group replaces it when it is stopped
MIN_COVERAGE = 0.9  # share of the window the data must cover
MAX_LABELS = 48
OnCloudChange = Callable[[list[Server], list[ServerGroup]], None]


class CloudQuery(NamedTuple):
    """One `cloud` condition: what to read (`resource`: instance or group), over how many seconds."""

    key: str
    resource: str
    metric: str
    statistic: str
    window_s: float


def cloud_queries(rules: Iterable[Rule]) -> list[CloudQuery]:
    """The `cloud` conditions of the enabled rules, keyed like PromQL conditions."""
    out: list[CloudQuery] = []
    for rule in rules:
        if not rule.spec.enabled:
            continue
        for i, cond in enumerate(rule.spec.when.conditions):
            spec: Any = getattr(cond, "cloud", None)
            if spec is not None:
                out.append(CloudQuery(condition_key(rule.metadata.name, i), spec.resource, spec.metric,
                                      spec.statistic, float(spec.over)))
    return out


class CloudSource(Source):
    name = "cloud"

    def __init__(self, provider: CloudProvider, settings: AwsSettings, queries: Iterable[CloudQuery], emit: Emit, *,
                 on_change: OnCloudChange | None = None, interval: float = 300.0, clock: Clock = utcnow,
                 cpu_window: float = 900.0) -> None:
        super().__init__(emit, interval=interval, clock=clock)
        self.provider, self.settings, self.on_change = provider, settings, on_change
        self.servers: list[Server] = []
        self.groups: list[ServerGroup] = []
        self.cpu: dict[str, float] = {}  # running server id -> average CPUUtilization (%) over `cpu_window`
        self.cpu_window = cpu_window
        self._queries: tuple[CloudQuery, ...] = tuple(queries)
        self._fingerprint: str | None = None
        self._lock = threading.Lock()

    def set_queries(self, queries: Iterable[CloudQuery]) -> None:
        """Swap the conditions (a new rules version); the next round uses them."""
        with self._lock:
            self._queries = tuple(queries)

    @property
    def queries(self) -> tuple[CloudQuery, ...]:
        with self._lock:
            return self._queries

    def poll_once(self) -> int:
        servers: list[Server] = []
        groups: list[ServerGroup] = []
        for region in self.provider.regions:
            try:
                servers += self.provider.servers(region)
                groups += self.provider.groups(region)
            except TransientError as exc:
                self.count("cloud_unreachable", f"{region}: {exc}")
            except PermanentError as exc:
                self.count("cloud_errors", f"{region}: {exc}")
        self._inventory(servers, groups)
        self._cpu(servers)
        emitted = 0
        for query in self.queries:
            for event in self._evaluate(query, servers, groups):
                self._send(event)
                emitted += 1
        return emitted

    def _inventory(self, servers: list[Server], groups: list[ServerGroup]) -> None:
        fingerprint = repr(([(s.region, s.id, s.state, s.type, sorted(s.tags.items())) for s in servers],
                            [(g.region, g.name, g.desired, g.minimum, g.maximum, sorted(g.tags.items()))
                             for g in groups]))
        self.servers, self.groups = servers, groups
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self.stats["changes"] += 1
            if self.on_change is not None:
                self.on_change(servers, groups)

    def _cpu(self, servers: list[Server]) -> None:
        """The recent CPU of every running server, for the dashboard and chat (0 s window: switched off)."""
        if self.cpu_window <= 0:
            return
        now, window, cpu = self.clock(), timedelta(seconds=self.cpu_window), {}
        for s in servers:
            if not s.running:
                continue
            try:
                usage = self.provider.usage(s.region, "instance", s.id, "CPUUtilization", window, now)
            except (TransientError, PermanentError) as exc:
                self.count("cloud_errors", f"CPU of {s.id}: {exc}")
                continue
            if usage is not None:
                cpu[s.id] = usage.average
        self.cpu = cpu

    def _evaluate(self, query: CloudQuery, servers: list[Server], groups: list[ServerGroup]) -> list[Event]:
        now = self.clock()
        schedule = "open" if self.settings.idle_schedule.open_at(now) else "closed"
        window = timedelta(seconds=query.window_s)
        items: list[tuple[str, str, WorkloadRef, dict[str, str]]] = []
        if query.resource == "instance":
            for s in servers:
                if s.running:
                    labels = {PROTECTED_LABEL: _flag(server_protection(self.settings, s) is not None),
                              IN_GROUP_LABEL: _flag(bool(s.group)), "instance_type": s.type, **_tags(s.tags)}
                    items.append((s.region, s.id, server_ref(s), labels))
        else:
            for g in groups:
                labels = {PROTECTED_LABEL: _flag(group_protection(self.settings, g) is not None),
                          AT_MAX_LABEL: _flag(g.at_max), **_tags(g.tags)}
                items.append((g.region, g.name, group_ref(g), labels))
        out = []
        for region, ident, ref, labels in items:
            try:
                usage = self.provider.usage(region, query.resource, ident, query.metric, window, now)
            except TransientError as exc:
                self.count("cloud_unreachable", f"{query.key} {ident}: {exc}")
                continue
            except PermanentError as exc:
                self.count("cloud_errors", f"{query.key} {ident}: {exc}")
                continue
            if usage is None or usage.covered_s < MIN_COVERAGE * query.window_s:
                self.stats["insufficient_data"] += 1
                continue
            value = _value(usage, query.statistic)
            kept = dict(list(labels.items())[:MAX_LABELS])
            kept[SCHEDULE_LABEL] = schedule
            out.append(Event(source=EventSource("cloud"), kind="CloudMetric", reason=query.key, target=ref,
                             labels=kept, values={"value": value}, observed_at=now,
                             message=f"{query.metric} {query.statistic} of {ident} over "
                                     f"{query.window_s / 60:g}m = {value:.2f}"))
        return out


def _tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Resource tags as labels; a tag cannot pose as one of the computed labels."""
    return {k: v for k, v in tags.items() if k not in (PROTECTED_LABEL, SCHEDULE_LABEL, AT_MAX_LABEL, IN_GROUP_LABEL)}


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _value(usage: Usage, statistic: str) -> float:
    return usage.maximum if statistic == "maximum" else usage.average
