"""Incidents with their timelines, post-mortems and outgoing notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base, BigId
from tagent.store.orm.detect import CLUSTER, NAME


class IncidentRow(Base):
    """`open_key` equals the fingerprint while the incident is open and is NULL once it is closed: a unique
    column, so two replicas can never open two incidents for the same rule and target at once."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_last_seen_at", "status", "last_seen_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(700), index=True)
    open_key: Mapped[str | None] = mapped_column(String(700), unique=True)
    rule: Mapped[str] = mapped_column(String(255))
    target_kind: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    name: Mapped[str] = mapped_column(String(NAME))
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    status: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    rules_version: Mapped[str] = mapped_column(String(64), default="")
    opened_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    mitigated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # the last evidence (event, decision) or activity: the quiet sweep is one indexed query on (status, this)
    last_seen_at: Mapped[datetime | None]
    # a decision the rate limit deferred: retried at `retry_at` (no cooldown was taken for it)
    retry_at: Mapped[datetime | None] = mapped_column(index=True)
    retry_decision_id: Mapped[str | None] = mapped_column(String(64))
    reopened: Mapped[int] = mapped_column(default=0)


class TimelineRow(Base):
    """`ref` names what an entry records once (an event id, a step key): unique per incident, so a replayed
    step or a re-sent event is recorded once by the database itself."""

    __tablename__ = "timeline_entries"
    __table_args__ = (UniqueConstraint("incident_id", "ref", name="uq_timeline_entries_incident_id_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), ForeignKey("incidents.id", ondelete="CASCADE"),
                                             index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ref: Mapped[str | None] = mapped_column(String(200))


class OutboxRow(Base):
    """Slow work decided inside a lifecycle transaction and done after it commits (notify, call, post-mortem).
    `key` makes an item once per incident (one "open" page per incident, however many re-detections)."""

    __tablename__ = "incident_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # notify | call | postmortem
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)


class PostmortemRow(Base):
    __tablename__ = "postmortems"

    incident_id: Mapped[str] = mapped_column(String(64), ForeignKey("incidents.id", ondelete="CASCADE"),
                                             primary_key=True)
    title: Mapped[str] = mapped_column(String(512), default="")
    markdown: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(255), default="tagent")
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class NotificationRow(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
