"""The leadership row of a Lease (docs/ha.md): the term (the Lease's leaseTransitions, one more per
acquisition, and only ever growing here) and where the leader's API is. The term is the fencing token:
`Runs.start_step`/`finish_step` with a term write only while it is still the current one, so a leader that
lost its Lease (paused, partitioned) cannot journal, and so cannot start, another step once a new leader
took over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from tagent.errors import TagentError
from tagent.store.db import Database
from tagent.store.orm.leadership import LeaderRow
from tagent.store.repos.common import insert_ignore


class FencedOut(TagentError):
    """This replica's term is no longer the current one: another leader took over; stop at once."""


@dataclass(frozen=True)
class Fence:
    """The term a run is executed under and the Lease it belongs to (a run's writes carry it)."""

    lease: str
    term: int


@dataclass(frozen=True)
class Leader:
    name: str
    term: int
    holder: str
    address: str
    since: datetime


class Leadership:
    def __init__(self, db: Database) -> None:
        self._db = db

    def begin_term(self, name: str, term: int, holder: str, address: str, *, at: datetime) -> bool:
        """Record `term` for `holder`, who has just acquired the Lease `name` with that many transitions; False
        when the recorded term is already as high (a later acquisition got here first: `holder` is stale)."""
        with self._db.write() as s:
            s.execute(insert_ignore(self._db, LeaderRow).values(name=name, term=0, holder="", address="", since=at))
            done = s.execute(update(LeaderRow).where(LeaderRow.name == name, LeaderRow.term < term)
                             .values(term=term, holder=holder, address=address, since=at))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def current(self, name: str) -> Leader | None:
        with self._db.read() as s:
            row = s.get(LeaderRow, name)
            return Leader(row.name, row.term, row.holder, row.address, row.since) if row else None

    def step_down(self, name: str, term: int) -> bool:
        """Clear the holder of `term` (a clean shutdown): forwarding stops pointing at this replica."""
        with self._db.write() as s:
            done = s.execute(update(LeaderRow).where(LeaderRow.name == name, LeaderRow.term == term)
                             .values(holder="", address=""))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def term_of(self, name: str) -> int:
        with self._db.read() as s:
            return int(s.scalar(select(LeaderRow.term).where(LeaderRow.name == name)) or 0)
