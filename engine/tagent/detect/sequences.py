"""`all` sequences: one durable ruleset per sequence rule, one shared session, steps joined on the workload.

durable keeps the events of unfinished sequences and consumes them when a sequence completes (a rollout
followed by many bad samples is one decision). Every step after the first is joined to the first on the
workload key (`wk`), in order (`seq`) and inside the window (`ts`), so one session serves every workload:
durable's limit of 1,024 sessions per ruleset never applies, and memory is what is pending (about 9 KB
per stored event in durable), not 110 KB per workload session.

What durable cannot do is forget. So this module mirrors what durable holds (posted and handled, minus
what a completion consumed); an event older than the window can no longer match (the `ts` join), and
once such dead events are as many as the live ones the session is deleted and the live ones posted again
in their original order (they did not complete a sequence among themselves before, so they cannot now).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from tagent.detect.compiler import RulePlan
from tagent.detect.conditions import EID, SEQ, SID, TS
from tagent.detect.rulesets import SHARED_SESSION, DurableRuleset
from tagent.model.core import Event

SESSION = SHARED_SESSION
MAX_PENDING = 64
"""Stored events per workload and rule. Past it, events that could only start or extend a sequence are
ignored until older ones complete or expire (a flapping workload must not pin memory)."""
COMPACT_AFTER = 256
"""Dead (expired) events tolerated in durable before a compaction, at least."""

Item = tuple[Event, dict[str, Any]]


class SequenceFamily:
    """One sequence rule's ruleset and a mirror of the events durable holds for it, per workload."""

    def __init__(self, plan: RulePlan, ruleset: DurableRuleset, horizon: float) -> None:
        self.plan = plan
        self.horizon = horizon
        self._ruleset = ruleset
        self._first = plan.conds[0].key
        self._last = plan.conds[-1].key
        self._stored: dict[str, dict[str, Item]] = {}
        self._order: deque[tuple[float, str, str]] = deque()
        self._live = 0
        self._dead = 0

    def post(self, sid: str, message: dict[str, Any], event: Event, text: str | None = None) -> list[list[Event]]:
        """Post one event of workload `sid`; the Events of each sequence it completed, in step order.

        An event that can only be a later step, for a workload with nothing stored, is not posted: it
        could only follow an earlier step that has not happened. `text`: the message already encoded with
        the shared session id (the Detector encodes each event once for all its rulesets)."""
        key = (event.source.value, event.reason)
        stored = self._stored.get(sid)
        if stored is None and key != self._first:
            return []
        if stored is not None and len(stored) >= MAX_PENDING and key != self._last:
            return []
        fired = (self._ruleset.post_text(SESSION, text) if text is not None
                 else self._ruleset.post({**message, SID: SESSION}))
        if fired is None:
            return []
        known = dict(stored or {})
        known[event.id] = (event, message)
        completed: list[list[Event]] = []
        consumed: set[str] = set()
        for _, matched in fired:
            steps = sorted(matched.items(), key=lambda item: int(item[0][1:]))
            eids = [str(msg[EID]) for _, msg in steps]
            consumed.update(eids)
            completed.append([known[eid][0] for eid in eids if eid in known])
        if event.id not in consumed:
            self._store(sid, event, message)
        for eid in consumed:
            self._unstore(sid, eid)
        return completed

    def _store(self, sid: str, event: Event, message: dict[str, Any]) -> None:
        self._stored.setdefault(sid, {})[event.id] = (event, message)
        self._order.append((float(message[TS]), sid, event.id))
        self._live += 1

    def _unstore(self, sid: str, eid: str) -> bool:
        stored = self._stored.get(sid)
        if stored is None or stored.pop(eid, None) is None:
            return False
        self._live -= 1
        if not stored:
            del self._stored[sid]
        return True

    def expire(self, now: float) -> None:
        """Forget events that fell out of the window; compact durable's session when dead ones pile up."""
        cutoff = now - self.horizon
        while self._order and self._order[0][0] < cutoff:
            _, sid, eid = self._order.popleft()
            if self._unstore(sid, eid):
                self._dead += 1
        if self._dead and (self._live == 0 or self._dead >= max(COMPACT_AFTER, self._live)):
            self._compact()

    def _compact(self) -> None:
        items = sorted((item for stored in self._stored.values() for item in stored.values()),
                       key=lambda item: int(item[1][SEQ]))
        self._ruleset.forget(SESSION)
        self._stored.clear()
        self._order.clear()
        self._live = self._dead = 0
        self.replay(items)

    def replay(self, items: list[Item]) -> None:
        """Post stored events again, oldest first (after a compaction, or into the next rules version)."""
        for event, message in sorted(items, key=lambda item: int(item[1][SEQ])):
            if self._ruleset.post({**message, SID: SESSION}) is not None:
                self._store(event.target.key, event, message)

    def pending(self) -> Iterator[tuple[str, list[Item]]]:
        """Every workload's stored events."""
        for sid, stored in self._stored.items():
            yield sid, list(stored.values())

    def items(self) -> list[Item]:
        return [item for stored in self._stored.values() for item in stored.values()]

    @property
    def ruleset(self) -> DurableRuleset:
        return self._ruleset

    @property
    def sessions(self) -> int:
        return self._ruleset.sessions

    @property
    def held(self) -> int:
        """Events durable holds (live and dead), for the stats."""
        return self._live + self._dead

    def close(self) -> None:
        self._ruleset.close()
        self._stored.clear()
        self._order.clear()
        self._live = self._dead = 0
