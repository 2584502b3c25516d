"""One transaction for every change of the incident lifecycle (`store.lifecycle.unit()`).

A decision's admission writes the event rows, the decision, the guard's verdict and cooldown, the incident
(opened, joined or reopened), its timeline entries, the playbook run and the outbox items in ONE
transaction: a kill -9 at any point leaves either none of it (the next detection acts) or all of it (the
run resumes). Units are serialized (SQLite's write lock; a PostgreSQL advisory lock across replicas), so the
lifecycle needs no lock of its own in the process. Statements are Core and batched (`executemany`) because
a storm admits thousands of decisions per second through here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, column, func, insert, or_, select, update, values
from sqlalchemy.orm import Session

from tagent.model import Decision, Event, Incident, IncidentStatus, TimelineEntry, WorkloadRef
from tagent.model.core import new_id, workload_key
from tagent.store.db import Database
from tagent.store.orm.base import UTCDateTime
from tagent.store.orm.detect import DecisionRow, EventRow, VerdictRow
from tagent.store.orm.incidents import IncidentRow, OutboxRow, TimelineRow
from tagent.store.orm.runs import ApprovalRow, RunRow
from tagent.store.orm.safety import GuardActionRow
from tagent.store.records import ApprovalRecord, ApprovalStatus, CooldownAttempt, NewVerdict, RunStatus
from tagent.store.repos.approvals import _approval, token_hash
from tagent.store.repos.common import insert_ignore, table_of
from tagent.store.repos.detect import _decision_values, _event_values
from tagent.store.repos.pg_copy import CopyInsert
from tagent.store.repos.safety import CooldownStatements, LedgerSnapshot, LedgerView
from tagent.store.repos.unit_cooldowns import UnitCooldowns

LIFECYCLE_LOCK = "tagent-incidents"
CLOSED = tuple(s.value for s in IncidentStatus if s.closed)
BUSY_RUNS = (RunStatus.running.value, RunStatus.awaiting_approval.value)
EVIDENCE = frozenset({"event", "decision"})


@dataclass
class Active:
    """What admission needs to know of an incident on a workload (no timeline)."""

    id: str
    fingerprint: str
    rule: str
    status: IncidentStatus
    opened_at: datetime
    closed_at: datetime | None
    acknowledged: bool


@dataclass(frozen=True)
class OutboxItem:
    id: int
    incident_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


class Unit:
    """The operations of one lifecycle transaction. Writes of timeline entries, events, decisions and verdicts
    are buffered and flushed with one statement each (`flush`, called on commit)."""

    def __init__(self, db: Database, session: Session, statements: _Statements) -> None:
        self.db, self.s, self._st = db, session, statements
        self._timeline: list[dict[str, Any]] = []
        self._events: dict[str, dict[str, Any]] = {}
        self._decisions: dict[str, dict[str, Any]] = {}
        self._verdicts: list[dict[str, Any]] = []
        self._seen: dict[str, datetime] = {}
        self._incidents: list[dict[str, Any]] = []
        self._runs: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []
        self.after_commit: list[Callable[[], None]] = []
        self._ledger: LedgerSnapshot | None = None
        self._cooldowns = UnitCooldowns(statements.cooldowns)

    # -- evidence ------------------------------------------------------------------------------------
    def add_events(self, events: Sequence[Event]) -> None:
        for e in events:
            if e.kind != "Metric":  # metric samples are many and are summarised by the sources
                self._events.setdefault(e.id, _event_values(e))

    def record(self, decision: Decision | None, verdict: NewVerdict) -> None:
        if decision is not None:
            self._decisions.setdefault(decision.id, _decision_values(decision))
        self._verdicts.append(verdict.model_dump())

    def timeline(self, incident_id: str, entry: TimelineEntry, ref: str | None = None) -> None:
        self._timeline.append({"incident_id": incident_id, "at": entry.at, "kind": entry.kind,
                               "summary": entry.summary, "data": entry.data, "ref": ref})
        if entry.kind in EVIDENCE:
            seen = self._seen.get(incident_id)
            self._seen[incident_id] = entry.at if seen is None or entry.at > seen else seen

    # -- incidents ------------------------------------------------------------------------------------
    def active_on(self, targets: Sequence[WorkloadRef], closed_since: datetime) -> dict[str, list[Active]]:
        """Per target key: its incidents still open, or closed after `closed_since` (newest first)."""
        if not targets:
            return {}
        names = sorted({t.name for t in targets})
        q = (select(IncidentRow.id, IncidentRow.fingerprint, IncidentRow.rule, IncidentRow.status,
                    IncidentRow.opened_at, IncidentRow.resolved_at, IncidentRow.acknowledged_at,
                    IncidentRow.target_kind, IncidentRow.namespace, IncidentRow.name, IncidentRow.cluster)
             .where(IncidentRow.name.in_(names),
                    or_(IncidentRow.open_key.is_not(None), IncidentRow.resolved_at >= closed_since))
             .order_by(IncidentRow.opened_at.desc()))
        wanted = {t.key for t in targets}
        out: dict[str, list[Active]] = {}
        for r in self.s.connection().execute(q):  # Core: no ORM row machinery for a read of plain columns
            key = workload_key(r.target_kind, r.namespace, r.name, r.cluster)
            if key in wanted:
                out.setdefault(key, []).append(Active(r.id, r.fingerprint, r.rule, IncidentStatus(r.status),
                                                      r.opened_at, r.resolved_at, r.acknowledged_at is not None))
        return out

    def open(self, incident: Incident) -> None:
        self._incidents.append({
            "id": incident.id, "fingerprint": incident.fingerprint, "open_key": incident.fingerprint,
            "rule": incident.rule, "target_kind": incident.target.kind, "namespace": incident.target.namespace,
            "name": incident.target.name, "cluster": incident.target.cluster,
            "status": incident.status.value, "severity": incident.severity.value,
            "rules_version": incident.rules_version, "opened_at": incident.opened_at, "acknowledged_at": None,
            "mitigated_at": None, "resolved_at": None, "last_seen_at": incident.opened_at, "retry_at": None,
            "retry_decision_id": None, "reopened": 0})

    def reopen(self, incident_id: str, fingerprint: str) -> None:
        self.flush()
        self.s.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(
            status=IncidentStatus.open.value, open_key=fingerprint, resolved_at=None, mitigated_at=None,
            reopened=IncidentRow.reopened + 1))

    def set_status(self, incident_id: str, status: IncidentStatus, at: datetime) -> IncidentStatus | None:
        """Move to `status` (stamping its time); returns the previous status, None if there is no incident."""
        self.flush()
        previous = self.s.scalar(select(IncidentRow.status).where(IncidentRow.id == incident_id))
        if previous is None:
            return None
        values: dict[str, Any] = {"status": status.value}
        if status == IncidentStatus.mitigating:
            values["mitigated_at"] = func.coalesce(IncidentRow.mitigated_at, bindparam("m", at, UTCDateTime()))
        if status.closed:
            values.update(open_key=None, resolved_at=at, retry_at=None, retry_decision_id=None)
        self.s.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(**values))
        return IncidentStatus(previous)

    def acknowledge(self, incident_id: str, at: datetime) -> bool:
        self.flush()
        result = self.s.execute(update(IncidentRow).where(IncidentRow.id == incident_id,
                                                          IncidentRow.acknowledged_at.is_(None))
                                .values(acknowledged_at=at))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def defer(self, incident_id: str, decision_id: str | None, retry_at: datetime | None) -> None:
        """Keep a decision the rate limit refused for a retry at `retry_at` (None, None: no longer deferred)."""
        self.flush()
        self.s.execute(update(IncidentRow).where(IncidentRow.id == incident_id)
                       .values(retry_at=retry_at, retry_decision_id=decision_id))

    def count_flaps(self, fingerprints: Sequence[str], since: datetime) -> dict[str, int]:
        """Per fingerprint, the incidents closed since `since` (one SQL count; no incident is loaded)."""
        if not fingerprints:
            return {}
        q = (select(IncidentRow.fingerprint, func.count()).where(
            IncidentRow.fingerprint.in_(sorted(set(fingerprints))), IncidentRow.status.in_(CLOSED),
            IncidentRow.resolved_at >= since).group_by(IncidentRow.fingerprint))
        return {str(fp): int(n) for fp, n in self.s.execute(q)}

    def busy(self, incident_id: str) -> bool:
        """A run of this incident is running or parked, or a question about it waits for a person."""
        self.flush()
        runs = self.s.scalar(select(func.count()).select_from(RunRow).where(
            RunRow.incident_id == incident_id, RunRow.status.in_(BUSY_RUNS)))
        if runs:
            return True
        return bool(self.s.scalar(select(func.count()).select_from(ApprovalRow).where(
            ApprovalRow.incident_id == incident_id, ApprovalRow.status == ApprovalStatus.pending.value)))

    def status_of(self, incident_id: str) -> tuple[IncidentStatus, bool] | None:
        self.flush()
        row = self.s.execute(select(IncidentRow.status, IncidentRow.acknowledged_at)
                             .where(IncidentRow.id == incident_id)).first()
        return (IncidentStatus(row.status), row.acknowledged_at is not None) if row else None

    # -- guard state ----------------------------------------------------------------------------------
    def prefetch_cooldowns(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Read the cooldowns of these (rule, target key) pairs at once: taking one of them then costs no
        statement (they are written together at flush; see unit_cooldowns)."""
        self._cooldowns.prefetch(self.s.connection(), pairs)

    def acquire_cooldown(self, rule: str, target_key: str, *, now: datetime, seconds: float,
                         decision_id: str | None) -> CooldownAttempt:
        return self._cooldowns.acquire(self.s.connection(), (rule, target_key), now=now, seconds=seconds,
                                       decision_id=decision_id)

    def cooldown_until(self, rule: str, target_key: str) -> datetime | None:
        """When the rule's cooldown on the workload ends (None: there is none)."""
        return self._cooldowns.until(self.s.connection(), (rule, target_key))

    def ledger_snapshot(self, now: datetime, window: float) -> LedgerSnapshot:
        """The guard ledger's counts, read once per unit (admission does not reserve: actions do, later)."""
        if self._ledger is None:
            self.flush()
            ledger = LedgerView(self.s).snapshot(now, window)
            hour = now - timedelta(hours=1)
            reserved = select(GuardActionRow.run_id).where(GuardActionRow.run_id.is_not(None),
                                                           GuardActionRow.at >= hour)
            pending = select(RunRow.namespace, RunRow.target_kind, RunRow.name, RunRow.cluster).where(
                RunRow.status == RunStatus.running.value, RunRow.dry_run.is_(False), RunRow.started_at >= hour,
                RunRow.id.not_in(reserved))
            for r in self.s.execute(pending):  # admitted runs that have not mutated yet count as mutations
                ref = WorkloadRef(kind=r.target_kind, namespace=r.namespace, name=r.name, cluster=r.cluster)
                ledger.add(r.namespace, ref.key, cluster=r.cluster)
            self._ledger = ledger
        return self._ledger

    # -- runs, approvals, outbox ---------------------------------------------------------------------
    def create_run(self, run_id: str, playbook: str, target: WorkloadRef, *, at: datetime, incident_id: str,
                   decision_id: str, params: dict[str, Any], rules_version: str, dry_run: bool) -> bool:
        self._runs.append({
            "id": run_id, "playbook": playbook, "incident_id": incident_id, "decision_id": decision_id,
            "target_kind": target.kind, "namespace": target.namespace, "name": target.name, "params": params,
            "cluster": target.cluster,
            "rules_version": rules_version, "status": RunStatus.running.value, "dry_run": dry_run, "detail": "",
            "owner": None, "heartbeat_at": None, "started_at": at, "finished_at": None})
        return True  # written with the unit's other rows (`flush`); a run id is its decision's id

    def request_approval(self, *, at: datetime, incident_id: str, action: str, target_key: str, summary: str,
                         payload: dict[str, Any]) -> str:
        """A pending question about an incident (its one-time token is not kept: people answer by id)."""
        approval_id = new_id()
        self.s.execute(insert(ApprovalRow), [{
            "id": approval_id, "token_hash": token_hash(secrets.token_urlsafe(24)), "kind": "incident",
            "run_id": None, "incident_id": incident_id, "action": action, "target_key": target_key,
            "summary": summary, "payload": payload, "requested_by": "tagent", "status": ApprovalStatus.pending.value,
            "requested_at": at, "expires_at": None, "decided_by": None, "decided_at": None, "reason": ""}])
        return approval_id

    def pending_approvals(self, incident_id: str) -> list[ApprovalRecord]:
        self.flush()
        q = (select(ApprovalRow).where(ApprovalRow.incident_id == incident_id,
                                       ApprovalRow.status == ApprovalStatus.pending.value)
             .order_by(ApprovalRow.requested_at, ApprovalRow.id))
        return [_approval(r) for r in self.s.scalars(q)]

    def decide(self, approval_id: str, *, approve: bool, by: str, at: datetime, reason: str = "") -> bool:
        """Answer a pending question once (False: it was answered, or expired, already)."""
        self.flush()
        status = ApprovalStatus.approved if approve else ApprovalStatus.denied
        result = self.s.execute(update(ApprovalRow).where(
            ApprovalRow.id == approval_id, ApprovalRow.status == ApprovalStatus.pending.value,
            or_(ApprovalRow.expires_at.is_(None), ApprovalRow.expires_at > at),
        ).values(status=status.value, decided_by=by, decided_at=at, reason=reason))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def outbox(self, incident_id: str, kind: str, payload: dict[str, Any], at: datetime,
               key: str | None = None) -> None:
        self._outbox.append({"incident_id": incident_id, "kind": kind, "key": key, "payload": payload,
                             "created_at": at, "done_at": None, "attempts": 0})

    # -- commit ---------------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write what is buffered, parents first (the unit calls it before any read that could need it)."""
        conn, st = self.s.connection(), self._st
        self._cooldowns.flush(conn)
        if self._incidents:
            conn.execute(insert(table_of(IncidentRow)), self._incidents)
        for rows, name in ((list(self._events.values()), "events"), (list(self._decisions.values()), "decisions"),
                           (self._verdicts, "verdicts"), (self._runs, "runs"), (self._timeline, "timeline"),
                           (self._outbox, "outbox")):
            if not rows:
                continue
            if st.copy:  # PostgreSQL: one COPY stream a table (pg_copy)
                st.copy[name](conn, rows)
            else:
                conn.execute(st.inserts[name], rows)
        if self._seen:
            conn.execute(*st.touch(self._seen))
        self._events, self._decisions, self._verdicts, self._timeline, self._seen = {}, {}, [], [], {}
        self._incidents, self._runs, self._outbox = [], [], []


class _Statements:
    def __init__(self, db: Database) -> None:
        self.cooldowns = CooldownStatements.build(db.is_sqlite)
        # the unit's buffered rows, parents first: (name, table, idempotent)
        tables = (("events", EventRow, True), ("decisions", DecisionRow, True), ("verdicts", VerdictRow, False),
                  ("runs", RunRow, True), ("timeline", TimelineRow, True), ("outbox", OutboxRow, True))
        self.inserts = {name: insert_ignore(db, row) if ignore else insert(table_of(row))
                        for name, row, ignore in tables}
        self.copy = {} if db.is_sqlite else {name: CopyInsert(table_of(row), ignore_conflicts=ignore)
                                             for name, row, ignore in tables}
        incidents = table_of(IncidentRow)
        self._is_sqlite = db.is_sqlite
        self._touch = (update(incidents).where(incidents.c.id == bindparam("iid"),
                                               or_(incidents.c.last_seen_at.is_(None),
                                                   incidents.c.last_seen_at < bindparam("seen")))
                       .values(last_seen_at=bindparam("seen")))

    def touch(self, seen: dict[str, datetime]) -> tuple[Any, ...]:
        """The statement (and its parameters) moving each incident's `last_seen_at` forward: executemany on SQLite
        (cheap in-process), one UPDATE ... FROM (VALUES ...) on PostgreSQL (one statement, not one per row)."""
        if self._is_sqlite:
            return self._touch, [{"iid": k, "seen": v} for k, v in seen.items()]
        incidents = table_of(IncidentRow)
        rows = values(column("iid", String), column("seen", UTCDateTime()), name="seen_now").data(list(seen.items()))
        return (update(incidents).where(incidents.c.id == rows.c.iid, or_(incidents.c.last_seen_at.is_(None),
                                                                          incidents.c.last_seen_at < rows.c.seen))
                .values(last_seen_at=rows.c.seen)),


class Lifecycle:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._st = _Statements(db)

    @contextmanager
    def unit(self, *, admission: bool = False) -> Iterator[Unit]:
        """One serialized read-write transaction; buffered writes are flushed before the commit and the
        unit's `after_commit` callbacks run once it committed. `admission`: a batch of decisions, which goes
        before this process' other units (playbook steps, closing), which go before other writes."""
        with self._db.write(lock=LIFECYCLE_LOCK, priority=2 if admission else 1) as s:
            unit = Unit(self._db, s, self._st)
            yield unit
            unit.flush()
        for callback in unit.after_commit:
            callback()

    # -- reads outside a unit -------------------------------------------------------------------------
    def quiet(self, before: datetime, limit: int = 500) -> list[str]:
        """Open incidents with no evidence since `before` and no deferred decision waiting for its retry (one
        query on the (status, last_seen_at) index)."""
        q = (select(IncidentRow.id).where(IncidentRow.status == IncidentStatus.open.value,
                                          IncidentRow.last_seen_at < before, IncidentRow.retry_at.is_(None))
             .order_by(IncidentRow.last_seen_at).limit(limit))
        with self._db.read() as s:
            return list(s.scalars(q))

    def deferred(self, now: datetime, limit: int = 500) -> list[tuple[str, str]]:
        """(incident id, decision id) of decisions the rate limit deferred whose retry time has come."""
        q = (select(IncidentRow.id, IncidentRow.retry_decision_id)
             .where(IncidentRow.retry_at <= now, IncidentRow.retry_decision_id.is_not(None))
             .order_by(IncidentRow.retry_at).limit(limit))
        with self._db.read() as s:
            return [(r.id, r.retry_decision_id) for r in s.execute(q)]

    def pending_outbox(self, limit: int = 200) -> list[OutboxItem]:
        q = select(OutboxRow).where(OutboxRow.done_at.is_(None)).order_by(OutboxRow.id).limit(limit)
        with self._db.read() as s:
            return [OutboxItem(r.id, r.incident_id, r.kind, dict(r.payload or {}), r.attempts) for r in s.scalars(q)]

    def outbox_done(self, ids: Sequence[int], at: datetime) -> None:
        if ids:
            with self._db.write() as s:
                s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(ids))).values(done_at=at))

    def outbox_failed(self, item_id: int, *, give_up: bool, at: datetime) -> None:
        with self._db.write() as s:
            s.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(
                attempts=OutboxRow.attempts + 1, done_at=at if give_up else None))

    def busy_runs(self) -> list[tuple[str, str | None, datetime | None, str, int]]:
        """(run id, owner, heartbeat, status, term) of every run still running or parked."""
        q = select(RunRow.id, RunRow.owner, RunRow.heartbeat_at, RunRow.status, RunRow.term).where(
            RunRow.status.in_(BUSY_RUNS))
        with self._db.read() as s:
            return [(r.id, r.owner, r.heartbeat_at, r.status, r.term) for r in s.execute(q)]

    def answered_parked(self) -> list[str]:
        """Runs parked on a step approval that is no longer pending (answered or expired)."""
        pending = select(ApprovalRow.run_id).where(ApprovalRow.status == ApprovalStatus.pending.value,
                                                   ApprovalRow.run_id.is_not(None))
        q = select(RunRow.id).where(and_(RunRow.status == RunStatus.awaiting_approval.value,
                                         RunRow.id.not_in(pending)))
        with self._db.read() as s:
            return list(s.scalars(q))
