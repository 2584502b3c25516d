"""Discovered workloads and the savings ledger (replica-hours saved by scale-downs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base, BigId
from tagent.store.orm.detect import CLUSTER, KEY, NAME


class WorkloadRow(Base):
    __tablename__ = "workloads"

    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(NAME), default="", index=True)
    name: Mapped[str] = mapped_column(String(NAME))
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    replicas: Mapped[int] = mapped_column(default=0)
    ready_replicas: Mapped[int] = mapped_column(default=0)
    runtime: Mapped[str] = mapped_column(String(16))
    images: Mapped[list[str]] = mapped_column(default=list)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(default=dict)
    ports: Mapped[list[int]] = mapped_column(default=list)
    updated_at: Mapped[datetime]


class SavingRow(Base):
    """A period during which a workload ran fewer replicas than before (open while `ended_at` is NULL)."""

    __tablename__ = "savings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target_key: Mapped[str] = mapped_column(String(KEY), index=True)
    target_kind: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    name: Mapped[str] = mapped_column(String(NAME))
    from_replicas: Mapped[int]
    to_replicas: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(String(64))
