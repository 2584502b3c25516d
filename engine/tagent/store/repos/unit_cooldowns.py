"""Cooldowns inside a lifecycle unit: read once per batch, taken together at flush.

A storm's first wave opens hundreds of incidents in one unit, and each takes its rule's cooldown on its
workload. One conditional upsert per decision (the old way) cost a statement, a round trip and an interpreter
lock hand-over each. Instead the admission reads the cooldowns of the batch's (rule, workload) pairs in one
query (`prefetch`); a pair whose cooldown is not running is taken in memory and all of them are written at
flush by ONE conditional upsert that returns the rows it took. On SQLite the unit holds the write lock, so
what the prefetch read cannot change; on PostgreSQL another transaction may take a cooldown between the read
and the write: the upsert then returns fewer rows than were taken, `CooldownLost` is raised, the unit rolls
back and the admission runs again (it reads the winner's cooldown the second time).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from tagent.store.orm.safety import CooldownRow
from tagent.store.records import CooldownAttempt
from tagent.store.repos.common import table_of
from tagent.store.repos.safety import CooldownStatements, acquire_on

Pair = tuple[str, str]  # (rule, target key)


class CooldownLost(Exception):
    """Another transaction took a cooldown this unit had read as free: roll back and admit again."""


class UnitCooldowns:
    def __init__(self, statements: CooldownStatements) -> None:
        self._st = statements
        self._known: dict[Pair, datetime] = {}  # taken or seen running in this unit
        self._read: dict[Pair, datetime | None] = {}  # prefetched, not yet asked about (None: no row)
        self._taken: dict[Pair, dict[str, Any]] = {}  # taken in memory, written at flush

    def prefetch(self, conn: Connection, pairs: Iterable[Pair]) -> None:
        wanted = {p for p in pairs if p not in self._known and p not in self._read}
        if not wanted:
            return
        table = table_of(CooldownRow)
        q = select(table.c.rule, table.c.target_key, table.c.until).where(
            table.c.target_key.in_(sorted({key for _, key in wanted})))
        found = {(r.rule, r.target_key): r.until for r in conn.execute(q)}
        for pair in wanted:
            self._read[pair] = found.get(pair)

    def acquire(self, conn: Connection, pair: Pair, *, now: datetime, seconds: float,
                decision_id: str | None) -> CooldownAttempt:
        """Start the pair's cooldown unless one is running: in memory when this unit read the pair (written at
        flush), else with its own statement."""
        known = self._known.get(pair)
        if known is not None and known > now:  # taken (or seen) earlier in this transaction
            return CooldownAttempt(acquired=False, until=known)
        if pair not in self._read and pair not in self._taken:
            attempt = acquire_on(conn, self._st, *pair, now=now, seconds=seconds, decision_id=decision_id)
            self._known[pair] = attempt.until
            return attempt
        held = self._read.pop(pair, None)
        if held is not None and held > now:
            self._known[pair] = held
            return CooldownAttempt(acquired=False, until=held)
        until = now + timedelta(seconds=max(0.0, seconds))
        self._taken[pair] = {"rule": pair[0], "target_key": pair[1], "until": until, "set_at": now,
                             "decision_id": decision_id}
        self._known[pair] = until
        return CooldownAttempt(acquired=True, until=until)

    def until(self, conn: Connection, pair: Pair) -> datetime | None:
        """When the pair's cooldown ends (None: there is none), from what this unit knows or from the store."""
        if pair in self._known:
            return self._known[pair]
        if pair in self._read:
            return self._read[pair]
        held = conn.execute(self._st.held, {"rule": pair[0], "target_key": pair[1]}).scalar()
        return held if isinstance(held, datetime) else None

    def flush(self, conn: Connection) -> None:
        """Write what was taken; raise `CooldownLost` when another transaction holds one of them."""
        if not self._taken:
            return
        rows, self._taken = list(self._taken.values()), {}
        written = {(r.rule, r.target_key) for r in conn.execute(self._st.take, rows)}
        lost = [(r["rule"], r["target_key"]) for r in rows if (r["rule"], r["target_key"]) not in written]
        if lost:
            raise CooldownLost(f"{len(lost)} cooldowns were taken by another transaction, e.g. {lost[0]}")
