"""The discovered inventory and the savings ledger."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tagent.model import Runtime, WorkloadInfo, WorkloadRef
from tagent.store.db import Database
from tagent.store.orm.inventory import SavingRow, WorkloadRow
from tagent.store.records import SavingRecord
from tagent.store.repos.common import clamp_limit, ref_of, table_of


class Inventory:
    def __init__(self, db: Database) -> None:
        self._db = db

    def replace(self, workloads: Iterable[WorkloadInfo], *, at: datetime, cluster: str = "") -> int:
        """Make the stored inventory of `cluster` exactly `workloads` (a full discovery pass of that cluster: the
        other clusters' rows stay); returns how many."""
        values = [_workload_values(w, at) for w in workloads]
        with self._db.write() as s:
            if values:
                s.execute(self._upsert(), values)
                s.execute(delete(WorkloadRow).where(WorkloadRow.cluster == cluster,
                                                    WorkloadRow.key.not_in([v["key"] for v in values])))
            else:
                s.execute(delete(WorkloadRow).where(WorkloadRow.cluster == cluster))
        return len(values)

    def upsert(self, workload: WorkloadInfo, *, at: datetime) -> None:
        with self._db.write() as s:
            s.execute(self._upsert(), [_workload_values(workload, at)])

    def remove(self, ref: WorkloadRef) -> bool:
        with self._db.write() as s:
            result = s.execute(delete(WorkloadRow).where(WorkloadRow.key == ref.key))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def get(self, ref: WorkloadRef) -> WorkloadInfo | None:
        with self._db.read() as s:
            row = s.get(WorkloadRow, ref.key)
            return _workload(row) if row else None

    def get_many(self, refs: Sequence[WorkloadRef]) -> dict[str, WorkloadInfo]:
        """The known workloads among `refs`, by key (one query)."""
        keys = sorted({r.key for r in refs})
        if not keys:
            return {}
        with self._db.read() as s:
            return {r.key: _workload(r) for r in s.scalars(select(WorkloadRow).where(WorkloadRow.key.in_(keys)))}

    def list(self, *, namespace: str | None = None, cluster: str | None = None) -> list[WorkloadInfo]:
        q = select(WorkloadRow)
        if cluster is not None:
            q = q.where(WorkloadRow.cluster == cluster)
        if namespace is not None:
            q = q.where(WorkloadRow.namespace == namespace)
        with self._db.read() as s:
            return [_workload(r) for r in s.scalars(q.order_by(WorkloadRow.namespace, WorkloadRow.name))]

    def _upsert(self) -> Any:
        dialect = sqlite if self._db.is_sqlite else postgresql
        stmt = dialect.insert(table_of(WorkloadRow))
        columns = ("kind", "namespace", "name", "cluster", "replicas", "ready_replicas", "runtime", "images", "labels",
                   "annotations", "ports", "updated_at")
        return stmt.on_conflict_do_update(index_elements=["key"],
                                          set_={c: getattr(stmt.excluded, c) for c in columns})


class Savings:
    def __init__(self, db: Database) -> None:
        self._db = db

    def open(self, target: WorkloadRef, *, from_replicas: int, to_replicas: int, at: datetime, reason: str = "",
             run_id: str | None = None) -> SavingRecord:
        """A scale-down took effect: start counting replica-hours saved (closing any period still open)."""
        with self._db.write() as s:
            self._close_open(target, at, s)
            row = SavingRow(target_key=target.key, target_kind=target.kind, namespace=target.namespace,
                            name=target.name, from_replicas=from_replicas, to_replicas=to_replicas, started_at=at,
                            ended_at=None, reason=reason, run_id=run_id)
            s.add(row)
            s.flush()
            return _saving(row)

    def close(self, target: WorkloadRef, *, at: datetime) -> SavingRecord | None:
        """The workload was scaled back up: stop counting."""
        with self._db.write() as s:
            return self._close_open(target, at, s)

    def list(self, *, since: datetime | None = None, limit: int = 1000) -> list[SavingRecord]:
        q = select(SavingRow)
        if since is not None:
            q = q.where(SavingRow.started_at >= since)
        q = q.order_by(SavingRow.started_at.desc(), SavingRow.id.desc()).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_saving(r) for r in s.scalars(q)]

    def total_replica_hours(self, now: datetime, *, since: datetime | None = None) -> float:
        return sum(r.replica_hours(now) for r in self.list(since=since, limit=10_000))

    @staticmethod
    def _close_open(target: WorkloadRef, at: datetime, s: Session) -> SavingRecord | None:
        row = s.scalars(select(SavingRow).where(SavingRow.target_key == target.key, SavingRow.ended_at.is_(None))
                        .order_by(SavingRow.id.desc()).limit(1)).first()
        if row is None:
            return None
        row.ended_at = max(at, row.started_at)
        return _saving(row)


def _workload_values(w: WorkloadInfo, at: datetime) -> dict[str, object]:
    return {"key": w.ref.key, "kind": w.ref.kind, "namespace": w.ref.namespace, "name": w.ref.name,
            "cluster": w.ref.cluster, "replicas": w.replicas, "ready_replicas": w.ready_replicas,
            "runtime": w.runtime.value, "images": list(w.images), "labels": dict(w.labels),
            "annotations": dict(w.annotations), "ports": list(w.ports), "updated_at": at}


def _workload(r: WorkloadRow) -> WorkloadInfo:
    return WorkloadInfo(ref=ref_of(r.kind, r.namespace, r.name, r.cluster), replicas=r.replicas,
                        ready_replicas=r.ready_replicas,
                        runtime=Runtime(r.runtime), images=list(r.images or []), labels=r.labels or {},
                        annotations=r.annotations or {}, ports=list(r.ports or []))


def _saving(r: SavingRow) -> SavingRecord:
    return SavingRecord(id=r.id, target=ref_of(r.target_kind, r.namespace, r.name), from_replicas=r.from_replicas,
                        to_replicas=r.to_replicas, started_at=r.started_at, ended_at=r.ended_at, reason=r.reason,
                        run_id=r.run_id)
