"""Guard state: cooldowns and the ledger of guarded actions (rate limits, blast radius, loops, backoff)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base
from tagent.store.orm.detect import CLUSTER, KEY, NAME


class CooldownRow(Base):
    __tablename__ = "cooldowns"

    rule: Mapped[str] = mapped_column(String(255), primary_key=True)
    target_key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    until: Mapped[datetime]
    set_at: Mapped[datetime]
    decision_id: Mapped[str | None] = mapped_column(String(64))


class GuardActionRow(Base):
    """An action the guard let through. `reserved` until the caller reports the outcome (`done`, `failed`),
    `released` when it turned out nothing was mutated (released rows count for nothing)."""

    __tablename__ = "guard_actions"
    __table_args__ = (Index("ix_guard_actions_target_at", "target_key", "at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(255), default="")
    action: Mapped[str] = mapped_column(String(128))
    target_key: Mapped[str] = mapped_column(String(KEY))
    namespace: Mapped[str] = mapped_column(String(NAME), default="", index=True)
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    pods_affected: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16))
    finished_at: Mapped[datetime | None]
    run_id: Mapped[str | None] = mapped_column(String(64))
