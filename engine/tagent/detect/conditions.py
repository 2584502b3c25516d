"""One rule condition: its routing key, its durable_rules expression and the flat message an Event becomes.

durable_rules matches flat JSON messages (at most 255 properties, and a dotted name means a nested path),
so an Event is projected onto the few properties the active rules look at: fixed fields, the value keys
thresholds compare, the labels that selectors and alert conditions name (each under a stable, hashed
property name, since label keys contain dots and slashes), and, for conditions with `for:`, how many
seconds the threshold has held (kept by `windows.Streaks`, because durable's timers are coarse).

Property names depend only on what they hold, never on the order of rules in a version, so a message
stored for a pending sequence stays valid in the next rules version when that rule did not change.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from durable.lang import c, m

from tagent.model.core import Event
from tagent.model.policy import Condition, MatchScope, condition_key

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
    "!=": operator.ne,
}

# Fixed message properties (everything else is a value, label or held-for property).
SID, EID, TS, SEQ, WK = "sid", "eid", "ts", "seq", "wk"
VALUE_KEYS = ("value", "count")
"""The Event.values keys conditions compare: `value` (metrics, prometheus) and `count` (logs)."""


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]


def label_prop(key: str) -> str:
    """The message property holding label `key` (label keys such as app.kubernetes.io/name are not names)."""
    return "l_" + _digest(key)


def value_prop(key: str) -> str:
    return "v_" + key


@dataclass(frozen=True)
class Threshold:
    """`values[key] <op> value`, evaluated in Python only to know since when it holds (for `for:`)."""

    key: str
    op: str
    value: float

    def holds(self, values: Mapping[str, float]) -> bool:
        got = values.get(self.key)
        return got is not None and math.isfinite(got) and OPS[self.op](got, self.value)

    @property
    def streak_id(self) -> str:
        return f"{self.key}{self.op}{self.value!r}"


@dataclass(frozen=True)
class CondPlan:
    """What one condition needs: the (source, reason) it listens to, and what durable checks on top."""

    index: int
    source: str
    reason: str
    type: str | None = None
    threshold: Threshold | None = None
    for_s: float = 0.0
    alert_labels: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.reason)

    @cached_property
    def streak(self) -> str | None:
        """Identity of the `for:` streak (shared by equal thresholds on the same key), or None."""
        if self.threshold is None or self.for_s <= 0:
            return None
        return f"{self.source}|{self.reason}|{self.threshold.streak_id}"

    @cached_property
    def held_prop(self) -> str | None:
        streak = self.streak
        return None if streak is None else "f_" + _digest(streak)

    @property
    def label_keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.alert_labels)


def plan_condition(rule_name: str, index: int, cond: Condition) -> CondPlan:
    """The routing key and checks of condition `index` of a rule (see docs/events.md for the keys)."""
    if cond.kubernetes is not None:
        return CondPlan(index, "kubernetes", cond.kubernetes.reason, type=cond.kubernetes.type)
    if cond.metrics is not None:
        mc = cond.metrics
        return CondPlan(index, "metrics", mc.name, threshold=Threshold("value", mc.op, mc.value), for_s=mc.for_)
    if cond.prometheus is not None:
        pc = cond.prometheus
        return CondPlan(index, "prometheus", condition_key(rule_name, index),
                        threshold=Threshold("value", pc.op, pc.value), for_s=pc.for_)
    if cond.logs is not None:
        op, count = cond.logs.threshold()
        return CondPlan(index, "logs", condition_key(rule_name, index), threshold=Threshold("count", op, count))
    cloud = cond.cloud  # a cloud metric over a window, evaluated by the cloud source
    if cloud is not None:
        return CondPlan(index, "cloud", condition_key(rule_name, index),
                        threshold=Threshold("value", cloud.op, float(cloud.value)))
    tc = cond.traces  # a service's RED from its spans over a window, evaluated by the traces source
    if tc is not None:
        return CondPlan(index, "traces", condition_key(rule_name, index),
                        threshold=Threshold("value", tc.op, float(tc.value)), for_s=tc.for_)
    assert cond.alert is not None
    return CondPlan(index, "alert", cond.alert.alertname, alert_labels=tuple(sorted(cond.alert.labels.items())))


def _compare(prop: str, op: str, value: float) -> Any:
    field = getattr(m, prop)
    return {"<": field < value, "<=": field <= value, ">": field > value, ">=": field >= value,
            "==": field == value, "!=": field != value}[op]


def _any_of(prop: str, wanted: Iterable[str]) -> Any:
    expr = None
    for w in wanted:
        one = getattr(m, prop) == w
        expr = one if expr is None else expr | one
    return expr


def expression(cp: CondPlan, scope: MatchScope, protected: Iterable[str]) -> Any:
    """The durable_rules expression for one condition inside a rule's match scope.

    An explicit `match.namespaces` is honoured as written (the guard still refuses to act in a protected
    namespace); without it, every namespace but the protected ones matches, and node events (no namespace)
    do too.
    """
    expr = (m.src == cp.source) & (m.reason == cp.reason)
    if cp.type is not None:
        expr = expr & (m.type == cp.type)
    if cp.threshold is not None:
        expr = expr & _compare(value_prop(cp.threshold.key), cp.threshold.op, cp.threshold.value)
    held = cp.held_prop
    if held is not None:
        expr = expr & (getattr(m, held) >= cp.for_s)
    for key, want in cp.alert_labels:
        expr = expr & (getattr(m, label_prop(key)) == want)
    if scope.clusters:
        expr = expr & _any_of("cl", scope.clusters)
    if scope.namespaces:
        expr = expr & _any_of("ns", scope.namespaces)
    else:
        for ns in sorted(set(protected)):
            expr = expr & (m.ns != ns)
    for key, want in sorted(scope.selector.items()):
        expr = expr & (getattr(m, label_prop(key)) == want)
    if scope.kinds:
        expr = expr & _any_of("tkind", scope.kinds)
    return expr


def sequence_step(expr: Any, alias_index: int, within: float) -> Any:
    """Step i > 0 of an `all`: the same workload as the first step, strictly after the previous step, and
    inside `within` seconds of the first."""
    first, previous = c.e0, getattr(c, f"e{alias_index - 1}")
    return expr & (m.wk == first.wk) & (m.seq > previous.seq) & (m.ts <= c.e0.ts + within)


def project(event: Event, *, ts: float, seq: int, label_keys: Iterable[str],
            held: Mapping[str, float], home: str = "") -> dict[str, Any]:
    """The flat message durable_rules sees for `event` (no sid yet; callers add it per ruleset). `cl` is the
    event's cluster by name (`home` for the home cluster's "")."""
    msg: dict[str, Any] = {
        EID: event.id, "src": event.source.value, "kind": event.kind, "reason": event.reason,
        "tkind": event.target.kind, "ns": event.target.namespace, "name": event.target.name,
        "cl": event.target.cluster or home,
        WK: event.target.key, TS: ts, SEQ: seq,
    }
    kind_of_event = event.labels.get("type")
    if kind_of_event is not None:
        msg["type"] = kind_of_event
    for key in VALUE_KEYS:
        got = event.values.get(key)
        if got is not None and math.isfinite(got):
            msg[value_prop(key)] = got
    for key in label_keys:
        if key in event.labels:
            msg[label_prop(key)] = event.labels[key]
    msg.update(held)
    return msg
