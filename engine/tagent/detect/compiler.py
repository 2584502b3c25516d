"""Rules -> a matching plan: durable_rules definitions, lanes, and a route per (source, reason).

durable consumes an event with the first rule it completes, so rules that listen to the same
(source, reason) go to different *lanes* (rulesets); rules on different keys share one. An `all` sequence
gets a ruleset of its own (see `sequences`), because it keeps events waiting for their next step. A *route* says, for
one (source, reason), which lanes and sequences to post to, which labels to project and which `for:`
streaks to compute: posting anywhere else could only raise "not handled", so skipping it changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from tagent.detect.conditions import CondPlan, expression, plan_condition, sequence_step
from tagent.errors import ValidationError
from tagent.model.policy import Rule

MAX_LABEL_PROPS = 200
"""Label properties per message; durable allows 255 properties in all, about 15 are fixed."""
DEFAULT_HORIZON = 86400.0
"""How long an `all` without `within` waits for its next step."""


@dataclass(frozen=True)
class RulePlan:
    """One enabled rule, its conditions and its durable definition (JSON, without the action)."""

    rule: Rule
    conds: tuple[CondPlan, ...]
    within: float | None
    definition_json: str

    @property
    def horizon(self) -> float:
        """Seconds a sequence may take: `within`, or a day."""
        return self.within if self.within is not None else DEFAULT_HORIZON

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def sequence(self) -> bool:
        return len(self.conds) > 1

    @property
    def fingerprint(self) -> str:
        """Equal fingerprints match alike, so a pending sequence may move to the next rules version."""
        return hashlib.sha1(self.definition_json.encode(), usedforsecurity=False).hexdigest()

    def definition(self) -> dict[str, Any]:
        """A fresh copy (durable mutates the definitions it is given)."""
        return dict(json.loads(self.definition_json))


@dataclass(frozen=True)
class Route:
    """Where an event with one (source, reason) goes."""

    lanes: tuple[int, ...] = ()
    sequences: tuple[str, ...] = ()
    label_keys: tuple[str, ...] = ()
    streaks: tuple[CondPlan, ...] = ()


@dataclass(frozen=True)
class Plan:
    version: str
    rules: Mapping[str, RulePlan]
    lanes: tuple[tuple[str, ...], ...]
    routes: Mapping[tuple[str, str], Route]
    streak_ids: frozenset[str] = field(default_factory=frozenset)


def plan_rule(rule: Rule, protected: Iterable[str]) -> RulePlan:
    """Conditions and durable definition of one rule (aliases e0, e1, ... in `all` order)."""
    spec = rule.spec
    conds = tuple(plan_condition(rule.name, i, cond) for i, cond in enumerate(spec.when.conditions))
    within = spec.when.within
    steps = []
    for i, cp in enumerate(conds):
        expr = expression(cp, spec.match, protected)
        if i > 0:
            expr = sequence_step(expr, i, within if within is not None else DEFAULT_HORIZON)
        steps.append({f"e{i}": expr.define()})
    return RulePlan(rule, conds, within, json.dumps({"all": steps}, sort_keys=True))


def _lanes(singles: list[RulePlan]) -> list[list[RulePlan]]:
    """Greedy packing: a rule joins the first lane that has no rule on its key."""
    lanes: list[list[RulePlan]] = []
    keys: list[set[tuple[str, str]]] = []
    for rp in singles:
        key = rp.conds[0].key
        for lane, used in zip(lanes, keys, strict=True):
            if key not in used:
                lane.append(rp)
                used.add(key)
                break
        else:
            lanes.append([rp])
            keys.append({key})
    return lanes


def compile_plan(rules: Iterable[Rule], version: str, protected: Iterable[str]) -> Plan:
    """The matching plan of the enabled rules; duplicate names are a ValidationError."""
    protected = tuple(protected)
    plans: dict[str, RulePlan] = {}
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValidationError(f"rule {rule.name!r} is defined twice")
        seen.add(rule.name)
        if rule.spec.enabled:
            plans[rule.name] = plan_rule(rule, protected)
    ordered = [plans[name] for name in sorted(plans)]
    lanes = _lanes([rp for rp in ordered if not rp.sequence])

    lane_of: dict[tuple[str, str], list[int]] = {}
    for i, lane in enumerate(lanes):
        for rp in lane:
            lane_of.setdefault(rp.conds[0].key, []).append(i)
    seq_of: dict[tuple[str, str], list[str]] = {}
    labels_of: dict[tuple[str, str], set[str]] = {}
    streaks_of: dict[tuple[str, str], list[CondPlan]] = {}
    for rp in ordered:
        if rp.sequence:
            for key in dict.fromkeys(cp.key for cp in rp.conds):
                seq_of.setdefault(key, []).append(rp.name)
        selector = set(rp.rule.spec.match.selector)
        for cp in rp.conds:
            labels_of.setdefault(cp.key, set()).update(selector, cp.label_keys)
            if cp.held_prop is not None:
                streaks_of.setdefault(cp.key, []).append(cp)

    routes: dict[tuple[str, str], Route] = {}
    for key in sorted(set(lane_of) | set(seq_of)):
        labels = tuple(sorted(labels_of.get(key, ())))
        if len(labels) > MAX_LABEL_PROPS:
            raise ValidationError(f"rules on {key[0]}/{key[1]} name {len(labels)} label keys; at most"
                                  f" {MAX_LABEL_PROPS} fit in one durable_rules event")
        routes[key] = Route(tuple(lane_of.get(key, ())), tuple(seq_of.get(key, ())), labels,
                            tuple(streaks_of.get(key, ())))
    streak_ids = frozenset(cp.streak for rp in ordered for cp in rp.conds if cp.streak is not None)
    return Plan(version, MappingProxyType(plans), tuple(tuple(rp.name for rp in lane) for lane in lanes),
                MappingProxyType(routes), streak_ids)
