"""Rules versions, events (with retention), decisions and guard verdicts."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic_core import to_jsonable_python
from sqlalchemy import delete, func, insert, select

from tagent.model import Decision, Event, EventSource, Mode, Severity, WorkloadRef
from tagent.store.db import Database
from tagent.store.orm.detect import DecisionRow, EventRow, RuleVersionRow, VerdictRow
from tagent.store.records import (
    DecisionRecord,
    NewVerdict,
    RuleVersionRecord,
    RuleVersionStatus,
    VerdictRecord,
)
from tagent.store.repos.common import clamp_limit, insert_ignore, ref_of, table_of


class RuleVersions:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, sha: str, status: RuleVersionStatus, *, at: datetime, author: str = "", message: str = "",
               source: str = "", problems: Iterable[str] = ()) -> RuleVersionRecord:
        """Record an activation (`active`) or a refused version (`rejected`, with `path:line: message` problems)."""
        row = RuleVersionRow(sha=sha, status=RuleVersionStatus(status).value, author=author, message=message,
                             source=source, problems=list(problems), at=at)
        with self._db.write() as s:
            s.add(row)
        return _rule_version(row)

    def active(self) -> RuleVersionRecord | None:
        """The version activated last (the one in force)."""
        return self._latest(RuleVersionStatus.active)

    def last_rejected(self) -> RuleVersionRecord | None:
        return self._latest(RuleVersionStatus.rejected)

    def history(self, limit: int = 50) -> list[RuleVersionRecord]:
        q = select(RuleVersionRow).order_by(RuleVersionRow.id.desc()).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_rule_version(r) for r in s.scalars(q)]

    def _latest(self, status: RuleVersionStatus) -> RuleVersionRecord | None:
        q = (select(RuleVersionRow).where(RuleVersionRow.status == status.value)
             .order_by(RuleVersionRow.id.desc()).limit(1))
        with self._db.read() as s:
            row = s.scalars(q).first()
            return _rule_version(row) if row else None


class Events:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._insert = insert_ignore(db, EventRow)

    def add(self, event: Event) -> None:
        self.add_many([event])

    def add_many(self, events: Iterable[Event]) -> int:
        """Insert events in one transaction; an id already stored is skipped (sources may resend)."""
        rows = [_event_values(e) for e in events]
        if not rows:
            return 0
        with self._db.write_core() as conn:
            conn.execute(self._insert, rows)
        return len(rows)

    def get(self, event_id: str) -> Event | None:
        with self._db.read() as s:
            row = s.get(EventRow, event_id)
            return _event(row) if row else None

    def list(self, *, limit: int = 100, target: WorkloadRef | None = None, since: datetime | None = None,
             kind: str | None = None, cluster: str | None = None) -> builtins.list[Event]:
        """Newest first."""
        q = select(EventRow)
        if target is not None:
            q = q.where(EventRow.namespace == target.namespace, EventRow.name == target.name,
                        EventRow.target_kind == target.kind, EventRow.cluster == target.cluster)
        if cluster is not None:
            q = q.where(EventRow.cluster == cluster)
        if since is not None:
            q = q.where(EventRow.observed_at >= since)
        if kind is not None:
            q = q.where(EventRow.kind == kind)
        q = q.order_by(EventRow.observed_at.desc(), EventRow.id).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_event(r) for r in s.scalars(q)]

    def count(self) -> int:
        with self._db.read() as s:
            return int(s.scalar(select(func.count()).select_from(EventRow)) or 0)

    def prune(self, older_than: datetime) -> int:
        """Retention: delete events observed before `older_than`; returns how many went."""
        with self._db.write() as s:
            result = s.execute(delete(EventRow).where(EventRow.observed_at < older_than))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Decisions:
    def __init__(self, db: Database) -> None:
        self._db = db
        verdicts = table_of(VerdictRow)
        self._insert_decision = insert_ignore(db, DecisionRow)
        self._insert_verdict = insert(verdicts).returning(verdicts.c.id)
        self._insert_verdicts = insert(verdicts).returning(verdicts.c.id, sort_by_parameter_order=True)

    def record(self, decision: Decision, verdict: NewVerdict | None = None) -> VerdictRecord | None:
        """Store a decision (once, by id) and, in the same transaction, the guard's verdict on it."""
        with self._db.write_core() as conn:
            conn.execute(self._insert_decision, _decision_values(decision))
            if verdict is None:
                return None
            values = verdict.model_dump()
            return VerdictRecord(id=conn.execute(self._insert_verdict, values).scalar_one(), **values)

    def record_many(self, items: Sequence[tuple[Decision | None, NewVerdict]]) -> list[VerdictRecord]:
        """Store many (decision, verdict) pairs in one transaction (a decision may be None: chat actions)."""
        if not items:
            return []
        decisions = {d.id: d for d, _ in items if d is not None}
        rows = [v.model_dump() for _, v in items]
        with self._db.write_core() as conn:
            if decisions:
                conn.execute(self._insert_decision, [_decision_values(d) for d in decisions.values()])
            ids = conn.execute(self._insert_verdicts, rows).scalars().all()
        return [VerdictRecord(id=i, **values) for i, values in zip(ids, rows, strict=True)]

    def add_verdict(self, verdict: NewVerdict) -> VerdictRecord:
        """An action-level verdict, or one not tied to a decision (chat)."""
        values = verdict.model_dump()
        with self._db.write_core() as conn:
            return VerdictRecord(id=conn.execute(self._insert_verdict, values).scalar_one(), **values)

    def get(self, decision_id: str) -> Decision | None:
        with self._db.read() as s:
            row = s.get(DecisionRow, decision_id)
            return _decision(row) if row else None

    def list(self, *, limit: int = 100, rule: str | None = None, target: WorkloadRef | None = None,
             since: datetime | None = None, cluster: str | None = None) -> builtins.list[DecisionRecord]:
        """Newest first, each with its latest decision-level verdict."""
        q = select(DecisionRow)
        if rule is not None:
            q = q.where(DecisionRow.rule == rule)
        if target is not None:
            q = q.where(DecisionRow.namespace == target.namespace, DecisionRow.name == target.name,
                        DecisionRow.target_kind == target.kind, DecisionRow.cluster == target.cluster)
        if cluster is not None:
            q = q.where(DecisionRow.cluster == cluster)
        if since is not None:
            q = q.where(DecisionRow.decided_at >= since)
        q = q.order_by(DecisionRow.decided_at.desc(), DecisionRow.id).limit(clamp_limit(limit))
        with self._db.read() as s:
            rows = list(s.scalars(q))
            ids = [r.id for r in rows]
            latest: dict[str, VerdictRow] = {}
            if ids:
                vq = (select(VerdictRow).where(VerdictRow.decision_id.in_(ids), VerdictRow.action.is_(None))
                      .order_by(VerdictRow.id))
                for v in s.scalars(vq):
                    assert v.decision_id is not None
                    latest[v.decision_id] = v
            return [DecisionRecord(decision=_decision(r),
                                   verdict=_verdict(latest[r.id]) if r.id in latest else None) for r in rows]

    def verdicts(self, *, limit: int = 100, decision_id: str | None = None, target_key: str | None = None,
                 allowed: bool | None = None, since: datetime | None = None) -> builtins.list[VerdictRecord]:
        """Newest first."""
        q = select(VerdictRow)
        if decision_id is not None:
            q = q.where(VerdictRow.decision_id == decision_id)
        if target_key is not None:
            q = q.where(VerdictRow.target_key == target_key)
        if allowed is not None:
            q = q.where(VerdictRow.allowed.is_(allowed))
        if since is not None:
            q = q.where(VerdictRow.at >= since)
        q = q.order_by(VerdictRow.id.desc()).limit(clamp_limit(limit, 1_000_000))
        with self._db.read() as s:
            return [_verdict(r) for r in s.scalars(q)]


def _rule_version(r: RuleVersionRow) -> RuleVersionRecord:
    return RuleVersionRecord(sha=r.sha, status=RuleVersionStatus(r.status), author=r.author, message=r.message,
                             source=r.source, problems=list(r.problems or []), at=r.at)


def _event_values(e: Event) -> dict[str, object]:
    return {"id": e.id, "source": e.source.value, "kind": e.kind, "reason": e.reason,
            "target_kind": e.target.kind, "namespace": e.target.namespace, "name": e.target.name,
            "cluster": e.target.cluster, "labels": dict(e.labels), "values": dict(e.values), "message": e.message,
            "observed_at": e.observed_at}


def _event(r: EventRow) -> Event:
    return Event(id=r.id, source=EventSource(r.source), kind=r.kind, reason=r.reason,
                 target=ref_of(r.target_kind, r.namespace, r.name, r.cluster), labels=r.labels or {},
                 values=r.values or {}, message=r.message, observed_at=r.observed_at)


def _decision_values(d: Decision) -> dict[str, object]:
    return {"id": d.id, "rule": d.rule, "rules_version": d.rules_version, "target_kind": d.target.kind,
            "namespace": d.target.namespace, "name": d.target.name, "cluster": d.target.cluster,
            "event_ids": list(d.event_ids),
            "playbook": d.playbook, "params": to_jsonable_python(d.params) if d.params else {}, "mode": d.mode.value,
            "severity": d.severity.value, "decided_at": d.decided_at}


def _decision(r: DecisionRow) -> Decision:
    return Decision(id=r.id, rule=r.rule, rules_version=r.rules_version,
                    target=ref_of(r.target_kind, r.namespace, r.name, r.cluster), event_ids=list(r.event_ids or []),
                    playbook=r.playbook, params=r.params or {}, mode=Mode(r.mode), severity=Severity(r.severity),
                    decided_at=r.decided_at)


def _verdict(r: VerdictRow) -> VerdictRecord:
    return VerdictRecord(id=r.id, decision_id=r.decision_id, actor=r.actor, rule=r.rule,
                         rules_version=r.rules_version, target_key=r.target_key, namespace=r.namespace,
                         action=r.action, allowed=r.allowed, reason=r.reason, detail=r.detail, mode=r.mode,
                         at=r.at, cluster=r.cluster)
