"""Rules versions, events, decisions and guard verdicts: what came in and what was decided about it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tagent.store.orm.base import Base, BigId

NAME = 253  # a Kubernetes object name is a DNS subdomain: at most 253 characters
KEY = 400  # "<kind>/<namespace>/<name>", "<cluster>:" first outside the home cluster
CLUSTER = 63  # a cluster name is a DNS-1123 label (docs/architecture.md, Many clusters)


class RuleVersionRow(Base):
    """Every rules version that was tried: activated (`active`) or refused (`rejected`, with its problems)."""

    __tablename__ = "rule_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(1024), default="")
    problems: Mapped[list[str]] = mapped_column(default=list)
    at: Mapped[datetime] = mapped_column(index=True)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_target", "namespace", "name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(255), default="")
    target_kind: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    name: Mapped[str] = mapped_column(String(NAME))
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    values: Mapped[dict[str, float]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    observed_at: Mapped[datetime] = mapped_column(index=True)


class DecisionRow(Base):
    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(String(255), index=True)
    rules_version: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(64))
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    name: Mapped[str] = mapped_column(String(NAME))
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    event_ids: Mapped[list[str]] = mapped_column(default=list)
    playbook: Mapped[str | None] = mapped_column(String(255))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mode: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    decided_at: Mapped[datetime] = mapped_column(index=True)


class VerdictRow(Base):
    """One guard verdict: decision-level (`action` is NULL) or action-level; allowed or refused."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    decision_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("decisions.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(255))
    rule: Mapped[str] = mapped_column(String(255), default="")
    rules_version: Mapped[str] = mapped_column(String(64), default="")
    target_key: Mapped[str] = mapped_column(String(KEY), index=True)
    namespace: Mapped[str] = mapped_column(String(NAME), default="")
    cluster: Mapped[str] = mapped_column(String(CLUSTER), default="", server_default="")  # "": the home cluster
    action: Mapped[str | None] = mapped_column(String(128))
    allowed: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(index=True)
