"""The Detector: Events in, Decisions out, through durable_rules; rules versions swap atomically.

One lock covers matching and swapping, so every event is matched by exactly one rules version (the one
active when its turn came) and none is lost while a new version is switched in. The new version is
compiled before the lock is taken; under it, pending sequences and `for:` streaks of unchanged rules
carry over, then the old version's durable rulesets and sessions are freed (memory stays flat across
reloads). Cooldowns are not kept here: they are the guard's, in the store.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from tagent.detect.compiler import Plan, RulePlan, compile_plan
from tagent.detect.conditions import SID, project
from tagent.detect.render import ParamsTemplate, RenderError, template_context
from tagent.detect.rulesets import SHARED_SESSION, DurableRuleset, QuietHost
from tagent.detect.sequences import SequenceFamily
from tagent.detect.windows import Streaks
from tagent.model.core import Decision, Event, Mode, utcnow
from tagent.model.policy import Rule

Clock = Callable[[], datetime]
DEFAULT_PROTECTED = ("kube-system",)
SWEEP_EVERY = 5.0
"""Seconds (on the injected clock) between expiries of sequence windows and stale streaks."""


@dataclass(frozen=True)
class DetectorStats:
    """Sizes that must stay bounded (exposed for /metrics, the benchmark and the tests)."""

    version: str
    rules: int
    rulesets: int
    sessions: int
    pending_sequences: int
    """(rule, workload) pairs with an unfinished sequence."""
    held_events: int
    """Events durable holds for sequences (waiting, or expired and not yet compacted away), asked of durable."""
    mirrored_events: int
    """The same count as Tagent's mirror of durable's memory has it (equal, or the mirror is wrong)."""
    streaks: int


class CompiledVersion:
    """The durable rulesets of one rules version (a fresh host: ruleset names can be reused freely)."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.host = QuietHost()
        self.lanes = [DurableRuleset(self.host, f"lane{i}", {n: plan.rules[n].definition() for n in names})
                      for i, names in enumerate(plan.lanes)]
        self.families = {rp.name: SequenceFamily(rp, DurableRuleset(self.host, f"seq:{rp.name}",
                                                                    {rp.name: rp.definition()}), rp.horizon)
                         for rp in plan.rules.values() if rp.sequence}
        self.templates = {name: ParamsTemplate(rp.rule.spec.then.params) for name, rp in plan.rules.items()}

    def adopt(self, old: CompiledVersion) -> None:
        """Continue the unfinished sequences of rules that did not change."""
        for name, family in self.families.items():
            previous = old.families.get(name)
            if previous is not None and previous.plan.fingerprint == family.plan.fingerprint:
                family.replay(previous.items())

    def close(self) -> None:
        for lane in self.lanes:
            lane.close()
        for family in self.families.values():
            family.close()


class Detector:
    """Match Events against the active rules; `process` and `swap` may be called from any thread."""

    def __init__(self, rules: Iterable[Rule], version: str, clock: Clock = utcnow,
                 protected_namespaces: Iterable[str] = DEFAULT_PROTECTED, home_cluster: str = "default") -> None:
        self._clock = clock
        self._home = home_cluster  # what a rule's `match.clusters` calls the home cluster
        self._protected = tuple(protected_namespaces)
        self._lock = threading.Lock()
        self._swap_lock = threading.Lock()  # swaps in call order: a slow compile cannot undo a later swap
        self._streaks = Streaks()
        self._seq = itertools.count(1)
        self._last_sweep = float("-inf")
        self._active: CompiledVersion | None = CompiledVersion(compile_plan(rules, version, self._protected))

    @property
    def version(self) -> str:
        return self._current().plan.version

    def _current(self) -> CompiledVersion:
        if self._active is None:
            raise RuntimeError("the detector is closed")
        return self._active

    def process(self, event: Event) -> list[Decision]:
        """Decisions for one event (empty when no rule fires); never raises for an unmatched event."""
        with self._lock:
            active = self._current()
            now = self._clock()
            ts = now.timestamp()
            if ts - self._last_sweep >= SWEEP_EVERY:
                self._sweep(active, ts)
            route = active.plan.routes.get((event.source.value, event.reason))
            if route is None:
                return []
            held = self._streaks.update(route.streaks, event, ts)
            message = project(event, ts=ts, seq=next(self._seq), label_keys=route.label_keys, held=held,
                              home=self._home)
            matches: list[tuple[RulePlan, list[Event]]] = []
            text = json.dumps({**message, SID: SHARED_SESSION}, ensure_ascii=False)  # once for every ruleset
            for i in route.lanes:
                for name, _ in active.lanes[i].post_text(SHARED_SESSION, text) or ():
                    matches.append((active.plan.rules[name], [event]))
            for name in route.sequences:
                family = active.families[name]
                for events in family.post(event.target.key, message, event, text):
                    matches.append((family.plan, events))
            return [self._decide(active, rp, events, now) for rp, events in matches]

    def _sweep(self, active: CompiledVersion, ts: float) -> None:
        self._last_sweep = ts
        for family in active.families.values():
            family.expire(ts)
        self._streaks.prune(ts)

    def _decide(self, active: CompiledVersion, rp: RulePlan, events: list[Event], now: datetime) -> Decision:
        rule, last = rp.rule, events[-1]
        spec = rule.spec
        common = {"rule": rule.name, "rules_version": active.plan.version, "target": last.target,
                  "event_ids": [e.id for e in events], "severity": spec.severity, "decided_at": now}
        try:
            params = active.templates[rule.name].render(template_context(rule, last))
        except RenderError as exc:
            # Never run a playbook with parameters that did not render: tell people instead.
            return Decision(**common, playbook=None, mode=Mode.notify,
                            params={"error": str(exc), "playbook": spec.then.playbook})
        return Decision(**common, playbook=spec.then.playbook, params=params, mode=spec.mode)

    def swap(self, rules: Iterable[Rule], version: str) -> None:
        """Switch to another rules version. Compiles first: a version that does not compile never activates
        (the error propagates and the current version keeps running)."""
        with self._swap_lock:
            plan = compile_plan(rules, version, self._protected)
            fresh = CompiledVersion(plan)
            with self._lock:
                old = self._current()
                fresh.adopt(old)
                self._active = fresh
                self._streaks.prune(self._clock().timestamp(), keep=set(plan.streak_ids))
                old.close()

    def stats(self) -> DetectorStats:
        with self._lock:
            active = self._current()
            fams = active.families.values()
            return DetectorStats(
                version=active.plan.version, rules=len(active.plan.rules),
                rulesets=len(active.lanes) + len(active.families),
                sessions=sum(lane.sessions for lane in active.lanes) + sum(f.sessions for f in fams),
                pending_sequences=sum(1 for f in fams for _ in f.pending()),
                held_events=sum(len(f.ruleset.pending(SHARED_SESSION)) for f in fams),
                mirrored_events=sum(f.held for f in fams), streaks=len(self._streaks))

    def close(self) -> None:
        """Free every durable ruleset; the detector cannot be used afterwards."""
        with self._lock:
            if self._active is not None:
                self._active.close()
                self._active = None
