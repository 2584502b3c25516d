"""Incidents and their timelines, post-mortems, and the notification outbox."""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.model.core import new_id
from tagent.store.db import Database
from tagent.store.orm.incidents import IncidentRow, NotificationRow, PostmortemRow, TimelineRow
from tagent.store.records import NotificationRecord, NotificationStatus, PostmortemRecord
from tagent.store.repos.common import clamp_limit, insert_ignore, ref_of

CLOSED = tuple(s for s in IncidentStatus if s.closed)


class Incidents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def open(self, incident: Incident) -> tuple[Incident, bool]:
        """Create `incident` unless one with its fingerprint is still open: returns (incident, created).

        Safe across replicas: the open fingerprint is a unique column, so exactly one opener wins."""
        for _ in range(3):
            try:
                with self._db.write() as s:
                    s.add(_incident_row(incident))
                    s.flush()
                    s.add_all(_timeline_row(incident.id, e) for e in incident.timeline)
                return incident, True
            except IntegrityError:
                existing = self.find_open(incident.fingerprint)
                if existing is not None:
                    return existing, False
                if self.get(incident.id, timeline=False) is not None:
                    raise  # the same incident id was stored before and is closed: a caller bug
        raise RuntimeError(f"could not open an incident for {incident.fingerprint}: it keeps closing concurrently")

    def get(self, incident_id: str, *, timeline: bool = True) -> Incident | None:
        with self._db.read() as s:
            row = s.get(IncidentRow, incident_id)
            return _incident(s, row, timeline) if row else None

    def find_open(self, fingerprint: str) -> Incident | None:
        with self._db.read() as s:
            row = s.scalars(select(IncidentRow).where(IncidentRow.open_key == fingerprint)).first()
            return _incident(s, row, True) if row else None

    def list(self, *, status: IncidentStatus | str | None = None, severity: Severity | str | None = None,
             since: datetime | None = None, target: WorkloadRef | None = None,
             limit: int = 100, cluster: str | None = None) -> builtins.list[Incident]:
        """Newest first, without timelines; `target` keeps one workload's incidents, `cluster` one cluster's."""
        q = select(IncidentRow)
        if target is not None:
            q = q.where(IncidentRow.namespace == target.namespace, IncidentRow.name == target.name,
                        IncidentRow.target_kind == target.kind, IncidentRow.cluster == target.cluster)
        if cluster is not None:
            q = q.where(IncidentRow.cluster == cluster)
        if status is not None:
            q = q.where(IncidentRow.status == IncidentStatus(status).value)
        if severity is not None:
            q = q.where(IncidentRow.severity == Severity(severity).value)
        if since is not None:
            q = q.where(IncidentRow.opened_at >= since)
        q = q.order_by(IncidentRow.opened_at.desc(), IncidentRow.id).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_incident(s, r, False) for r in s.scalars(q)]

    def add_timeline(self, incident_id: str, entry: TimelineEntry) -> None:
        with self._db.write() as s:
            s.add(_timeline_row(incident_id, entry))

    def set_status(self, incident_id: str, status: IncidentStatus, *, at: datetime,
                   summary: str = "") -> Incident | None:
        """Move an incident to `status`, stamp the matching time and add a `status` timeline entry."""
        with self._db.write() as s:
            row = s.get(IncidentRow, incident_id, with_for_update=True)
            if row is None:
                return None
            row.status = status.value
            if status == IncidentStatus.mitigating and row.mitigated_at is None:
                row.mitigated_at = at
            if status in CLOSED:
                row.open_key = None
                row.resolved_at = at  # when it closed, whichever way
            s.add(_timeline_row(incident_id, TimelineEntry(
                at=at, kind="status", summary=summary or f"status: {status.value}", data={"status": status.value})))
        return self.get(incident_id)

    def acknowledge(self, incident_id: str, *, by: str, at: datetime) -> Incident | None:
        """Record an acknowledgement (the first one stamps `acknowledged_at`)."""
        with self._db.write() as s:
            row = s.get(IncidentRow, incident_id, with_for_update=True)
            if row is None:
                return None
            if row.acknowledged_at is None:
                row.acknowledged_at = at
            s.add(_timeline_row(incident_id, TimelineEntry(at=at, kind="ack", summary=f"acknowledged by {by}",
                                                           data={"by": by})))
        return self.get(incident_id)


class Postmortems:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, incident_id: str, markdown: str, *, at: datetime, title: str = "",
             author: str = "tagent") -> PostmortemRecord:
        """Create or replace the post-mortem of an incident (`created_at` is kept on replace)."""
        with self._db.write() as s:
            s.execute(insert_ignore(self._db, PostmortemRow).values(
                incident_id=incident_id, title=title, markdown=markdown, author=author, created_at=at,
                updated_at=at))
            s.execute(update(PostmortemRow).where(PostmortemRow.incident_id == incident_id).values(
                title=title, markdown=markdown, author=author, updated_at=at))
            row = s.get(PostmortemRow, incident_id, populate_existing=True)
            assert row is not None
            return _postmortem(row)

    def get(self, incident_id: str) -> PostmortemRecord | None:
        with self._db.read() as s:
            row = s.get(PostmortemRow, incident_id)
            return _postmortem(row) if row else None

    def search(self, query: str | None = None, *, limit: int = 100) -> list[PostmortemRecord]:
        """Newest first; `query` matches title or text, case-insensitively."""
        q = select(PostmortemRow)
        if query:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            q = q.where(or_(PostmortemRow.title.ilike(pattern, escape="\\"),
                            PostmortemRow.markdown.ilike(pattern, escape="\\")))
        q = q.order_by(PostmortemRow.created_at.desc()).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_postmortem(r) for r in s.scalars(q)]


class Notifications:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, channel: str, *, at: datetime, subject: str = "", body: str = "",
            incident_id: str | None = None) -> NotificationRecord:
        row = NotificationRow(id=new_id(), incident_id=incident_id, channel=channel, subject=subject, body=body,
                              status=NotificationStatus.pending.value, attempts=0, last_error="", created_at=at,
                              next_attempt_at=at, sent_at=None)
        with self._db.write() as s:
            s.add(row)
        return _notification(row)

    def mark_sent(self, notification_id: str, *, at: datetime) -> NotificationRecord | None:
        return self._update(notification_id, status=NotificationStatus.sent, sent_at=at, next_attempt_at=None)

    def mark_failed(self, notification_id: str, *, error: str, retry_at: datetime | None = None) -> \
            NotificationRecord | None:
        """Count a failed attempt: pending again at `retry_at`, or failed for good when it is None."""
        status = NotificationStatus.pending if retry_at is not None else NotificationStatus.failed
        return self._update(notification_id, status=status, last_error=error, next_attempt_at=retry_at)

    def due(self, now: datetime, *, limit: int = 100) -> list[NotificationRecord]:
        q = (select(NotificationRow).where(NotificationRow.status == NotificationStatus.pending.value,
                                           NotificationRow.next_attempt_at <= now)
             .order_by(NotificationRow.next_attempt_at).limit(clamp_limit(limit)))
        with self._db.read() as s:
            return [_notification(r) for r in s.scalars(q)]

    def list(self, *, incident_id: str | None = None, limit: int = 100) -> list[NotificationRecord]:
        q = select(NotificationRow)
        if incident_id is not None:
            q = q.where(NotificationRow.incident_id == incident_id)
        q = q.order_by(NotificationRow.created_at.desc(), NotificationRow.id).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_notification(r) for r in s.scalars(q)]

    def _update(self, notification_id: str, *, status: NotificationStatus, sent_at: datetime | None = None,
                last_error: str | None = None, next_attempt_at: datetime | None = None) -> NotificationRecord | None:
        with self._db.write() as s:
            row = s.get(NotificationRow, notification_id, with_for_update=True)
            if row is None:
                return None
            row.status = status.value
            row.next_attempt_at = next_attempt_at
            if sent_at is not None:
                row.sent_at = sent_at
                row.attempts += 1
            if last_error is not None:
                row.last_error = last_error
                row.attempts += 1
            return _notification(row)


def _incident_row(i: Incident) -> IncidentRow:
    closed = i.status in CLOSED
    return IncidentRow(id=i.id, fingerprint=i.fingerprint, open_key=None if closed else i.fingerprint, rule=i.rule,
                       target_kind=i.target.kind, namespace=i.target.namespace, name=i.target.name,
                       cluster=i.target.cluster, status=i.status.value, severity=i.severity.value,
                       rules_version=i.rules_version,
                       opened_at=i.opened_at, acknowledged_at=i.acknowledged_at, mitigated_at=i.mitigated_at,
                       resolved_at=i.resolved_at, last_seen_at=i.opened_at, retry_at=None, retry_decision_id=None,
                       reopened=0)


def _timeline_row(incident_id: str, e: TimelineEntry) -> TimelineRow:
    return TimelineRow(incident_id=incident_id, at=e.at, kind=e.kind, summary=e.summary,
                       data=e.model_dump(mode="json")["data"])


def _incident(s: Session, r: IncidentRow, with_timeline: bool) -> Incident:
    timeline: list[TimelineEntry] = []
    if with_timeline:
        q = select(TimelineRow).where(TimelineRow.incident_id == r.id).order_by(TimelineRow.at, TimelineRow.id)
        timeline = [TimelineEntry(at=t.at, kind=t.kind, summary=t.summary, data=t.data or {}) for t in s.scalars(q)]
    return Incident(id=r.id, fingerprint=r.fingerprint, rule=r.rule, target=ref_of(r.target_kind, r.namespace, r.name,
                                                                                   r.cluster),
                    status=IncidentStatus(r.status), severity=Severity(r.severity), rules_version=r.rules_version,
                    timeline=timeline, opened_at=r.opened_at, acknowledged_at=r.acknowledged_at,
                    mitigated_at=r.mitigated_at, resolved_at=r.resolved_at)


def _postmortem(r: PostmortemRow) -> PostmortemRecord:
    return PostmortemRecord(incident_id=r.incident_id, title=r.title, markdown=r.markdown, author=r.author,
                            created_at=r.created_at, updated_at=r.updated_at)


def _notification(r: NotificationRow) -> NotificationRecord:
    return NotificationRecord(id=r.id, incident_id=r.incident_id, channel=r.channel, subject=r.subject, body=r.body,
                              status=NotificationStatus(r.status), attempts=r.attempts, last_error=r.last_error,
                              created_at=r.created_at, next_attempt_at=r.next_attempt_at, sent_at=r.sent_at)
