"""Playbook runs and the step journal that makes them resumable after a crash (kill -9 included).

The journal is append-only: `start_step` writes a row before a step runs and `finish_step` one after. On
restart, a runner walks its steps again and calls `start_step` for each: a step that already has a finish row
comes back as `finished` with its stored result and is not run again, so a finished mutating step is never
repeated; the first step without one is where the run resumes.

Across replicas (docs/ha.md), writes take a `Fence` (the Lease and the leader's term): `claim` takes a run
over at once from a lower term, and `start_step`, `finish_step` and `set_status` write only while the
run's term and the Lease's current term are both the fence's term (else `FencedOut`). They lock the run
row and the leadership row for share, and a new term (`Leadership.begin_term`) or a takeover (`claim`)
locks them for update, so a new leader sees every step row an old one wrote before it was fenced.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tagent.model import StepResult, StepStatus, WorkloadRef
from tagent.model.core import new_id
from tagent.store.db import Database
from tagent.store.orm.leadership import LeaderRow
from tagent.store.orm.runs import JournalRow, RunRow
from tagent.store.records import JournalEntry, RunRecord, RunStatus, StepClaim
from tagent.store.repos.common import clamp_limit, insert_ignore, ref_of
from tagent.store.repos.leadership import Fence, FencedOut

TERMINAL = (RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled)


def idem_key(run_id: str, section: str, index: int) -> str:
    """The idempotency key of one step of one run."""
    return f"{run_id}:{section}:{index}"


class Runs:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, playbook: str, target: WorkloadRef, *, at: datetime, run_id: str | None = None,
               incident_id: str | None = None, decision_id: str | None = None, params: dict[str, Any] | None = None,
               rules_version: str = "", dry_run: bool = False, owner: str | None = None) -> RunRecord:
        """Create a run; with an explicit `run_id` that already exists, return the stored run unchanged."""
        rid = run_id or new_id()
        with self._db.write() as s:
            s.execute(insert_ignore(self._db, RunRow).values(
                id=rid, playbook=playbook, incident_id=incident_id, decision_id=decision_id,
                target_kind=target.kind, namespace=target.namespace, name=target.name, params=dict(params or {}),
                cluster=target.cluster,
                rules_version=rules_version, status=RunStatus.running.value, dry_run=dry_run, detail="",
                owner=owner, heartbeat_at=at if owner else None, started_at=at, finished_at=None))
            row = s.get(RunRow, rid)
            assert row is not None
            return _run(row)

    def get(self, run_id: str) -> RunRecord | None:
        with self._db.read() as s:
            row = s.get(RunRow, run_id)
            return _run(row) if row else None

    def list(self, *, status: RunStatus | str | None = None, incident_id: str | None = None,
             limit: int = 100) -> builtins.list[RunRecord]:
        q = select(RunRow)
        if status is not None:
            q = q.where(RunRow.status == RunStatus(status).value)
        if incident_id is not None:
            q = q.where(RunRow.incident_id == incident_id)
        q = q.order_by(RunRow.started_at.desc(), RunRow.id).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_run(r) for r in s.scalars(q)]

    def unfinished(self) -> builtins.list[RunRecord]:
        """Runs to resume at start: running or waiting for an approval, oldest first."""
        q = (select(RunRow).where(RunRow.status.in_([RunStatus.running.value, RunStatus.awaiting_approval.value]))
             .order_by(RunRow.started_at, RunRow.id))
        with self._db.read() as s:
            return [_run(r) for r in s.scalars(q)]

    def set_status(self, run_id: str, status: RunStatus, *, at: datetime, detail: str = "",
                   fence: Fence | None = None) -> RunRecord | None:
        with self._db.write() as s:
            if fence is not None:
                _check(s, run_id, fence)
            row = s.get(RunRow, run_id, with_for_update=True)
            if row is None:
                return None
            row.status = status.value
            row.detail = detail
            row.finished_at = at if status in TERMINAL else None
            return _run(row)

    def claim(self, run_id: str, owner: str, *, now: datetime, stale_after: float = 60.0,
              fence: Fence | None = None) -> bool:
        """Take ownership of a run (to execute or resume it): succeeds when it is unowned, already ours, or its
        owner's heartbeat is older than `stale_after` seconds. Atomic, so two replicas never run one run.

        With a `fence` (a leader's term): also when the run belongs to a lower term (its leader is gone: no
        need to wait for its heartbeat to age), never when it belongs to a higher one; FencedOut when the
        fence's term is no longer the Lease's current term."""
        stale = now - timedelta(seconds=stale_after)
        free = or_(RunRow.owner.is_(None), RunRow.owner == owner, RunRow.heartbeat_at.is_(None),
                   RunRow.heartbeat_at < stale)
        with self._db.write() as s:
            if fence is None:
                result = s.execute(update(RunRow).where(RunRow.id == run_id, free)
                                   .values(owner=owner, heartbeat_at=now))
                return bool(result.rowcount)  # type: ignore[attr-defined]
            _current_term(s, fence)
            result = s.execute(update(RunRow).where(
                RunRow.id == run_id, RunRow.term <= fence.term, or_(free, RunRow.term < fence.term),
            ).values(owner=owner, heartbeat_at=now, term=fence.term))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def heartbeat(self, run_id: str, owner: str, *, now: datetime) -> bool:
        """Refresh ownership; False means another replica took the run over."""
        with self._db.write() as s:
            result = s.execute(update(RunRow).where(RunRow.id == run_id, RunRow.owner == owner)
                               .values(heartbeat_at=now))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def start_step(self, run_id: str, index: int, *, action: str, at: datetime, name: str = "",
                   mutates: bool = False, section: str = "steps", fence: Fence | None = None) -> StepClaim:
        """Journal the start of a step, unless it already finished (then return its stored result). With a
        `fence`: FencedOut when the run or the Lease moved on to another term (nothing is written)."""
        key = idem_key(run_id, section, index)
        with self._db.write() as s:
            if fence is not None:
                _check(s, run_id, fence)
            done = s.scalars(select(JournalRow).where(JournalRow.idem_key == key, JournalRow.phase == "finish")
                             .order_by(JournalRow.id).limit(1)).first()
            if done is not None:
                return StepClaim(finished=True, attempt=done.attempt, result=_result(done))
            starts = s.scalar(select(func.count()).select_from(JournalRow).where(
                JournalRow.idem_key == key, JournalRow.phase == "start")) or 0
            attempt = int(starts) + 1
            s.add(JournalRow(run_id=run_id, idem_key=key, section=section, step_index=index, step_name=name,
                             action=action, mutates=mutates, phase="start", attempt=attempt, status=None, detail="",
                             command="", data={}, at=at, term=fence.term if fence else 0))
            return StepClaim(finished=False, attempt=attempt)

    def finish_step(self, run_id: str, index: int, result: StepResult, *, section: str = "steps",
                    fence: Fence | None = None) -> bool:
        """Journal the outcome of a step. Only the first outcome counts: returns False if one was there.
        With a `fence`: FencedOut when the run or the Lease moved on to another term."""
        key = idem_key(run_id, section, index)
        try:
            return self._finish(run_id, key, section, index, result, fence)
        except IntegrityError:  # another writer journaled this outcome first
            return False

    def _finish(self, run_id: str, key: str, section: str, index: int, result: StepResult,
                fence: Fence | None) -> bool:
        with self._db.write() as s:
            if fence is not None:
                _check(s, run_id, fence)
            rows = list(s.scalars(select(JournalRow).where(JournalRow.idem_key == key).order_by(JournalRow.id)))
            if any(r.phase == "finish" for r in rows):
                return False
            starts = [r for r in rows if r.phase == "start"]
            if not starts:
                raise ValueError(f"step {key} finished without a start row: call start_step first")
            last = starts[-1]
            payload = result.model_dump(mode="json")
            s.add(JournalRow(run_id=run_id, idem_key=key, section=section, step_index=index, step_name=last.step_name,
                             action=last.action, mutates=last.mutates, phase="finish", attempt=last.attempt,
                             status=result.status.value, detail=result.detail, command=result.command,
                             data={"data": payload["data"], "started_at": payload["started_at"]},
                             at=result.finished_at, term=fence.term if fence else 0))
            return True

    def journal(self, run_id: str) -> builtins.list[JournalEntry]:
        q = select(JournalRow).where(JournalRow.run_id == run_id).order_by(JournalRow.id)
        with self._db.read() as s:
            return [JournalEntry(run_id=r.run_id, section=r.section, index=r.step_index, name=r.step_name,
                                 action=r.action, mutates=r.mutates, phase=r.phase, attempt=r.attempt, term=r.term,
                                 result=_result(r) if r.phase == "finish" else None, at=r.at) for r in s.scalars(q)]

    def finished_steps(self, run_id: str, section: str = "steps") -> dict[int, StepResult]:
        return {e.index: e.result for e in self.journal(run_id)
                if e.section == section and e.phase == "finish" and e.result is not None}

    def resume_point(self, run_id: str, section: str = "steps") -> int:
        """Index of the first step of `section` without a finish row."""
        done = self.finished_steps(run_id, section)
        index = 0
        while index in done:
            index += 1
        return index


def _current_term(s: Session, fence: Fence) -> None:
    """FencedOut unless the fence's term is the Lease's current one (the leadership row locked for share)."""
    current = s.scalar(select(LeaderRow.term).where(LeaderRow.name == fence.lease).with_for_update(read=True))
    if current != fence.term:
        raise FencedOut(f"term {fence.term} of {fence.lease} is over (the current term is {current or 0})")


def _check(s: Session, run_id: str, fence: Fence) -> None:
    """FencedOut unless the run and the Lease are both still at the fence's term."""
    _current_term(s, fence)
    term = s.scalar(select(RunRow.term).where(RunRow.id == run_id).with_for_update(read=True))
    if term != fence.term:
        raise FencedOut(f"run {run_id} belongs to term {term}, not {fence.term}: another leader took it over")


def _result(r: JournalRow) -> StepResult:
    data = r.data or {}
    started = data.get("started_at")
    return StepResult(status=StepStatus(r.status or StepStatus.failed.value), detail=r.detail, command=r.command,
                      data=data.get("data") or {},
                      started_at=datetime.fromisoformat(started) if isinstance(started, str) else r.at,
                      finished_at=r.at)


def _run(r: RunRow) -> RunRecord:
    return RunRecord(id=r.id, playbook=r.playbook, target=ref_of(r.target_kind, r.namespace, r.name, r.cluster),
                     incident_id=r.incident_id, decision_id=r.decision_id, params=r.params or {},
                     rules_version=r.rules_version, status=RunStatus(r.status), dry_run=r.dry_run, detail=r.detail,
                     owner=r.owner, heartbeat_at=r.heartbeat_at, term=r.term, started_at=r.started_at,
                     finished_at=r.finished_at)
