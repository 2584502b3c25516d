"""Leadership (docs/ha.md): one row per Lease, written by the replica that holds it. `term` only grows: each
acquisition adds one, and a run's steps are journaled only while the run's term is the current one (the fence
that stops a leader which lost its Lease but has not noticed yet)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base


class LeaderRow(Base):
    __tablename__ = "leadership"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)  # the Lease's namespace/name
    term: Mapped[int]
    holder: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(255), default="")  # the leader's API, for forwarding
    since: Mapped[datetime]
