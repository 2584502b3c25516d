"""`all` sequences: one durable session per workload, sharded past durable's 1,024 sessions per ruleset.

durable keeps the events of an unfinished sequence in the workload's session and consumes them when the
sequence completes (so a rollout followed by many bad samples yields one decision). What durable cannot
do is forget: an event never expires, and a session lives until deleted. So this module
- deletes a session as soon as durable holds nothing in it (read back with `get_pending_events`);
- expires what fell out of the window: the session is deleted and the events still inside `within` are
  posted again in their original order (they did not match one another before, so they cannot now);
- opens another shard (a copy of the ruleset) when every shard holds `SESSION_LIMIT` workloads.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Any

from tagent.detect.compiler import RulePlan
from tagent.detect.conditions import EID, SEQ, SID, TS
from tagent.detect.rulesets import SESSION_LIMIT, DurableRuleset
from tagent.model.core import Event

DEFAULT_HORIZON = 86400.0
"""How long an `all` without `within` waits for its next step."""
MAX_PENDING = 64
"""Events kept per workload and sequence; the oldest go first (a flapping workload must not pin memory)."""

Stored = dict[str, tuple[Event, dict[str, Any]]]
"""eid -> (the Event, the message durable holds for it)."""


class SequenceFamily:
    """The shards of one sequence rule, and the Events durable holds in them."""

    def __init__(self, plan: RulePlan, make_shard: Callable[[int], DurableRuleset]) -> None:
        self.plan = plan
        self._make_shard = make_shard
        self._shards: list[DurableRuleset] = []
        self._shard_of: dict[str, DurableRuleset] = {}
        self._stored: dict[str, Stored] = {}
        self._expiry: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}
        self.horizon = plan.within if plan.within is not None else DEFAULT_HORIZON

    def _shard(self, sid: str) -> DurableRuleset:
        shard = self._shard_of.get(sid)
        if shard is None:
            shard = next((s for s in self._shards if s.sessions < SESSION_LIMIT), None)
            if shard is None:
                shard = self._make_shard(len(self._shards))
                self._shards.append(shard)
            self._shard_of[sid] = shard
        return shard

    def post(self, sid: str, message: dict[str, Any], event: Event) -> list[list[Event]]:
        """Post one event for workload `sid`; the Events of every sequence it completed, in step order.

        An event that can only be a later step, for a workload with nothing stored, is not posted: it
        could only ever follow an earlier step that has not happened (durable would keep it anyway, and a
        busy metric would then hold a session for every workload)."""
        if sid not in self._stored and (event.source.value, event.reason) != self.plan.conds[0].key:
            return []
        shard = self._shard(sid)
        known: Stored = dict(self._stored.get(sid, {}))
        known[event.id] = (event, message)
        completed = []
        for _, matched in shard.post({**message, SID: sid}):
            steps = sorted(matched.items(), key=lambda item: int(item[0][1:]))
            completed.append([known[str(msg[EID])][0] for _, msg in steps if str(msg[EID]) in known])
        self._sync(sid, shard, known)
        return completed

    def _sync(self, sid: str, shard: DurableRuleset, known: Stored) -> None:
        """Mirror what durable holds for `sid`; delete the session when it holds nothing."""
        held = {str(p[EID]) for p in shard.pending(sid)}
        stored = {eid: item for eid, item in known.items() if eid in held}
        if not stored:
            self._release(sid, shard)
            return
        self._stored[sid] = stored
        if len(stored) > MAX_PENDING:
            self._compact(sid, keep_after=None)
            return
        self._schedule(sid, stored)

    def _schedule(self, sid: str, stored: Stored) -> None:
        due = min(float(msg[TS]) for _, msg in stored.values()) + self.horizon
        if self._due.get(sid) != due:
            self._due[sid] = due
            heapq.heappush(self._expiry, (due, sid))

    def _release(self, sid: str, shard: DurableRuleset) -> None:
        shard.forget(sid)
        self._stored.pop(sid, None)
        self._shard_of.pop(sid, None)
        self._due.pop(sid, None)

    def _compact(self, sid: str, keep_after: float | None) -> None:
        """Start the session over with only the events still inside the window (and at most half the cap)."""
        items = sorted(self._stored.get(sid, {}).values(), key=lambda item: float(item[1][SEQ]))
        if keep_after is not None:
            items = [it for it in items if float(it[1][TS]) > keep_after]
        items = items[-(MAX_PENDING // 2):]
        shard = self._shard_of[sid]
        shard.forget(sid)
        self._stored.pop(sid, None)
        self._due.pop(sid, None)
        self.replay(sid, items)

    def replay(self, sid: str, items: list[tuple[Event, dict[str, Any]]]) -> None:
        """Post stored events again, oldest first (after an expiry, or into the next rules version). They did
        not complete a sequence among themselves before, so they cannot now: only the mirror is rebuilt."""
        if not items:
            self._shard_of.pop(sid, None)
            return
        shard = self._shard(sid)
        known: Stored = {}
        for event, message in sorted(items, key=lambda item: float(item[1][SEQ])):
            known[event.id] = (event, message)
            shard.post({**message, SID: sid})
        self._sync(sid, shard, known)

    def expire(self, now: float) -> None:
        """Drop events older than the window; sessions left empty are deleted."""
        while self._expiry and self._expiry[0][0] <= now:
            due, sid = heapq.heappop(self._expiry)
            if self._due.get(sid) != due:
                continue  # superseded by a later schedule
            del self._due[sid]
            self._compact(sid, keep_after=now - self.horizon)

    def pending(self) -> Iterator[tuple[str, list[tuple[Event, dict[str, Any]]]]]:
        """Every workload's stored events (to hand them to the next rules version)."""
        for sid, stored in self._stored.items():
            yield sid, list(stored.values())

    @property
    def sessions(self) -> int:
        return sum(s.sessions for s in self._shards)

    @property
    def shards(self) -> int:
        return len(self._shards)

    def close(self) -> None:
        for shard in self._shards:
            shard.close()
        self._stored.clear()
        self._shard_of.clear()
        self._expiry.clear()
        self._due.clear()
