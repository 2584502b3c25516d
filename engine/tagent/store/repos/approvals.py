"""Approvals (one-time tokens) and the audit log of every mutation."""

from __future__ import annotations

import builtins
import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from tagent.model.core import new_id
from tagent.store.db import Database
from tagent.store.orm.runs import ApprovalRow, AuditRow
from tagent.store.records import ApprovalRecord, ApprovalStatus, AuditRecord
from tagent.store.repos.common import clamp_limit


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Approvals:
    """A pending request is decided once: by its one-time token (links, phone, chat confirmation) or by id
    (an authenticated dashboard/API user). Only the token's hash is stored."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def request(self, *, at: datetime, kind: str = "playbook", expires_at: datetime | None = None,
                run_id: str | None = None, incident_id: str | None = None, action: str = "", target_key: str = "",
                summary: str = "", payload: dict[str, Any] | None = None,
                requested_by: str = "tagent") -> tuple[ApprovalRecord, str]:
        """Create a pending approval; returns it with its token (shown once, never stored in clear)."""
        token = secrets.token_urlsafe(24)
        row = ApprovalRow(id=new_id(), token_hash=token_hash(token), kind=kind, run_id=run_id,
                          incident_id=incident_id, action=action, target_key=target_key, summary=summary,
                          payload=dict(payload or {}), requested_by=requested_by, status=ApprovalStatus.pending.value,
                          requested_at=at, expires_at=expires_at, decided_by=None, decided_at=None, reason="")
        with self._db.write() as s:
            s.add(row)
        return _approval(row), token

    def decide(self, token: str, *, approve: bool, by: str, at: datetime, reason: str = "") -> ApprovalRecord | None:
        """Use a token once. None when it is unknown, already used, or expired."""
        return self._decide(ApprovalRow.token_hash == token_hash(token), approve, by, at, reason)

    def decide_by_id(self, approval_id: str, *, approve: bool, by: str, at: datetime,
                     reason: str = "") -> ApprovalRecord | None:
        return self._decide(ApprovalRow.id == approval_id, approve, by, at, reason)

    def lookup(self, token: str) -> ApprovalRecord | None:
        """The approval a token belongs to, whatever its status (to explain a refused token)."""
        with self._db.read() as s:
            row = s.scalars(select(ApprovalRow).where(ApprovalRow.token_hash == token_hash(token))).first()
            return _approval(row) if row else None

    def get(self, approval_id: str) -> ApprovalRecord | None:
        with self._db.read() as s:
            row = s.get(ApprovalRow, approval_id)
            return _approval(row) if row else None

    def pending(self, *, incident_id: str | None = None, run_id: str | None = None) -> list[ApprovalRecord]:
        q = select(ApprovalRow).where(ApprovalRow.status == ApprovalStatus.pending.value)
        if incident_id is not None:
            q = q.where(ApprovalRow.incident_id == incident_id)
        if run_id is not None:
            q = q.where(ApprovalRow.run_id == run_id)
        with self._db.read() as s:
            return [_approval(r) for r in s.scalars(q.order_by(ApprovalRow.requested_at, ApprovalRow.id))]

    def expire(self, now: datetime) -> int:
        """Mark pending approvals past their deadline as expired; returns how many."""
        with self._db.write() as s:
            result = s.execute(update(ApprovalRow).where(
                ApprovalRow.status == ApprovalStatus.pending.value, ApprovalRow.expires_at.is_not(None),
                ApprovalRow.expires_at <= now).values(status=ApprovalStatus.expired.value, decided_at=now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _decide(self, which: Any, approve: bool, by: str, at: datetime, reason: str) -> ApprovalRecord | None:
        status = ApprovalStatus.approved if approve else ApprovalStatus.denied
        with self._db.write() as s:
            result = s.execute(update(ApprovalRow).where(
                which, ApprovalRow.status == ApprovalStatus.pending.value,
                or_(ApprovalRow.expires_at.is_(None), ApprovalRow.expires_at > at),
            ).values(status=status.value, decided_by=by, decided_at=at, reason=reason))
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            row = s.scalars(select(ApprovalRow).where(which)).one()
            return _approval(row)


class Audit:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, *, at: datetime, actor: str, action: str, target_key: str, result: str, namespace: str = "",
            command: str = "", detail: str = "", run_id: str | None = None, incident_id: str | None = None,
            dry_run: bool = False, cluster: str = "") -> AuditRecord:
        """Record one mutation (or dry-run mutation): who, what, on what, the kubectl equivalent, the result."""
        row = AuditRow(at=at, actor=actor, action=action, target_key=target_key, namespace=namespace,
                       command=command, result=result, detail=detail, run_id=run_id, incident_id=incident_id,
                       dry_run=dry_run, cluster=cluster)
        with self._db.write() as s:
            s.add(row)
            s.flush()
            return _audit(row)

    def list(self, *, limit: int = 100, target_key: str | None = None, run_id: str | None = None,
             since: datetime | None = None, cluster: str | None = None) -> builtins.list[AuditRecord]:
        """Newest first."""
        q = select(AuditRow)
        if cluster is not None:
            q = q.where(AuditRow.cluster == cluster)
        if target_key is not None:
            q = q.where(AuditRow.target_key == target_key)
        if run_id is not None:
            q = q.where(AuditRow.run_id == run_id)
        if since is not None:
            q = q.where(AuditRow.at >= since)
        q = q.order_by(AuditRow.id.desc()).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_audit(r) for r in s.scalars(q)]


def _approval(r: ApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(id=r.id, kind=r.kind, run_id=r.run_id, incident_id=r.incident_id, action=r.action,
                          target_key=r.target_key, summary=r.summary, payload=r.payload or {},
                          requested_by=r.requested_by, status=ApprovalStatus(r.status), requested_at=r.requested_at,
                          expires_at=r.expires_at, decided_by=r.decided_by, decided_at=r.decided_at, reason=r.reason)


def _audit(r: AuditRow) -> AuditRecord:
    return AuditRecord(id=r.id, at=r.at, actor=r.actor, action=r.action, target_key=r.target_key,
                       namespace=r.namespace, command=r.command, result=r.result, detail=r.detail, run_id=r.run_id,
                       incident_id=r.incident_id, dry_run=r.dry_run, cluster=r.cluster)
