"""Playbook runs and their step journal, approvals, and the audit log of every mutation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base, BigId
from tagent.store.orm.detect import CLUSTER, KEY, NAME


class RunRow(Base):
    __tablename__ = "playbook_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    playbook: Mapped[str] = mapped_column(String(255))
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    decision_id: Mapped[str | None] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    name: Mapped[str] = mapped_column(String(NAME))
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    rules_version: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(24), index=True)
    dry_run: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]
    term: Mapped[int] = mapped_column(default=0, server_default="0")  # the leader's term that owns it (docs/ha.md)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class JournalRow(Base):
    """Append-only: a `start` row before a step runs and a `finish` row after it, keyed by
    `<run>:<section>:<index>`. A step with a `finish` row never runs again for that run."""

    __tablename__ = "step_journal"
    __table_args__ = (UniqueConstraint("idem_key", "phase", "attempt"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), ForeignKey("playbook_runs.id", ondelete="CASCADE"),
                                        index=True)
    idem_key: Mapped[str] = mapped_column(String(200), index=True)
    section: Mapped[str] = mapped_column(String(32))
    step_index: Mapped[int]
    step_name: Mapped[str] = mapped_column(String(255), default="")
    action: Mapped[str] = mapped_column(String(128))
    mutates: Mapped[bool] = mapped_column(default=False)
    phase: Mapped[str] = mapped_column(String(8))  # start | finish
    attempt: Mapped[int]
    status: Mapped[str | None] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text, default="")
    command: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    term: Mapped[int] = mapped_column(default=0, server_default="0")  # the leader's term that wrote the row
    at: Mapped[datetime]


class ApprovalRow(Base):
    """A request for a human yes/no. Only the SHA-256 of its one-time token is kept."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="playbook")
    run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(128), default="")
    target_key: Mapped[str] = mapped_column(String(KEY), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by: Mapped[str] = mapped_column(String(255), default="tagent")
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | denied | expired
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(128))
    target_key: Mapped[str] = mapped_column(String(KEY), index=True)
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    command: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(64))
    dry_run: Mapped[bool] = mapped_column(default=False)
