"""Guard state: cooldowns and the ledger of guarded actions.

Both are written with atomic statements or under one named lock, so replicas sharing a PostgreSQL database
(or threads sharing a SQLite file) can never both pass a limit that only one of them may pass.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tagent.model.core import new_id
from tagent.store.db import Database
from tagent.store.orm.safety import CooldownRow, GuardActionRow
from tagent.store.records import ActionRecord, ActionStatus, CooldownAttempt, CooldownRecord
from tagent.store.repos.common import clamp_limit, table_of

LEDGER_LOCK = "tagent-guard-actions"
_COUNTED = (ActionStatus.reserved.value, ActionStatus.done.value, ActionStatus.failed.value)


@dataclass(frozen=True)
class CooldownStatements:
    """Built once per store. `take`: start a cooldown unless one is running (insert, or take over a row whose
    cooldown ended, in one statement) and return the (rule, target_key) of each row it wrote; executed with
    many rows, SQLAlchemy sends them as multi-row statements. `held`: when a pair's cooldown ends."""

    take: Any
    held: Any

    @classmethod
    def build(cls, is_sqlite: bool) -> CooldownStatements:
        table = table_of(CooldownRow)
        stmt = (sqlite if is_sqlite else postgresql).insert(table)
        take = stmt.on_conflict_do_update(
            index_elements=[table.c.rule, table.c.target_key],
            set_={"until": stmt.excluded.until, "set_at": stmt.excluded.set_at,
                  "decision_id": stmt.excluded.decision_id},
            where=table.c.until <= stmt.excluded.set_at,
        ).returning(table.c.rule, table.c.target_key)
        held = select(table.c.until).where(table.c.rule == bindparam("rule"),
                                           table.c.target_key == bindparam("target_key"))
        return cls(take, held)


def acquire_on(conn: Connection, st: CooldownStatements, rule: str, target_key: str, *, now: datetime,
               seconds: float, decision_id: str | None) -> CooldownAttempt:
    """Start a cooldown of `seconds` unless one is running, in `conn`'s transaction: `acquired` for exactly one
    caller per cooldown; otherwise when the running one ends."""
    until = now + timedelta(seconds=max(0.0, seconds))
    row = {"rule": rule, "target_key": target_key, "until": until, "set_at": now, "decision_id": decision_id}
    if conn.execute(st.take, row).first() is not None:
        return CooldownAttempt(acquired=True, until=until)
    held = conn.execute(st.held, {"rule": rule, "target_key": target_key}).scalar()
    return CooldownAttempt(acquired=False, until=held if isinstance(held, datetime) else until)


class Cooldowns:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._st = CooldownStatements.build(db.is_sqlite)

    def acquire(self, rule: str, target_key: str, *, now: datetime, seconds: float,
                decision_id: str | None = None) -> CooldownAttempt:
        """Start a cooldown of `seconds` unless one is running: `acquired` for exactly one caller per cooldown."""
        with self._db.write_core() as conn:
            return acquire_on(conn, self._st, rule, target_key, now=now, seconds=seconds, decision_id=decision_id)

    def get(self, rule: str, target_key: str) -> CooldownRecord | None:
        with self._db.read() as s:
            row = s.get(CooldownRow, (rule, target_key))
            return _cooldown(row) if row else None

    def active(self, now: datetime) -> list[CooldownRecord]:
        q = select(CooldownRow).where(CooldownRow.until > now).order_by(CooldownRow.until)
        with self._db.read() as s:
            return [_cooldown(r) for r in s.scalars(q)]

    def clear(self, rule: str, target_key: str) -> bool:
        with self._db.write() as s:
            result = s.execute(delete(CooldownRow).where(CooldownRow.rule == rule,
                                                         CooldownRow.target_key == target_key))
            return bool(result.rowcount)  # type: ignore[attr-defined]


def scope(cluster: str, namespace: str) -> str:
    """A namespace as the limits count it: namespaces of the same name in two clusters are two namespaces."""
    return f"{cluster}:{namespace}" if cluster else namespace


@dataclass
class LedgerSnapshot:
    """The ledger's counts at one moment: mutations in the last hour (in all, per namespace of a cluster) and
    the workloads mutated in the blast-radius window per cluster, plus the runs admitted that have not mutated
    yet (`add`). Keys of `per_namespace` are `scope(cluster, namespace)`."""

    total: int
    per_namespace: dict[str, int]
    targets: set[str]
    per_cluster: dict[str, set[str]] = field(default_factory=dict)  # cluster -> target keys in the window

    def add(self, namespace: str, target_key: str, cluster: str = "") -> None:
        """Count a run admitted to act (its mutation is not in the ledger yet)."""
        self.total += 1
        where = scope(cluster, namespace)
        self.per_namespace[where] = self.per_namespace.get(where, 0) + 1
        self.targets.add(target_key)
        self.per_cluster.setdefault(cluster, set()).add(target_key)

    def targets_in(self, cluster: str) -> set[str]:
        return self.per_cluster.get(cluster, set())


class LedgerView:
    """The ledger inside one locked transaction: read the counts, then maybe `reserve`, atomically."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def count_since(self, since: datetime, *, namespace: str | None = None, cluster: str | None = None) -> int:
        q = select(func.count()).select_from(GuardActionRow).where(GuardActionRow.at >= since,
                                                                   GuardActionRow.status.in_(_COUNTED))
        if namespace is not None:
            q = q.where(GuardActionRow.namespace == namespace)
        if cluster is not None:
            q = q.where(GuardActionRow.cluster == cluster)
        return int(self._s.scalar(q) or 0)

    def targets_since(self, since: datetime, *, cluster: str | None = None) -> set[str]:
        q = select(GuardActionRow.target_key).distinct().where(GuardActionRow.at >= since,
                                                              GuardActionRow.status.in_(_COUNTED))
        if cluster is not None:
            q = q.where(GuardActionRow.cluster == cluster)
        return set(self._s.scalars(q))

    def pods_in_flight(self, target_key: str, since: datetime) -> int:
        """Pods of a workload disrupted by actions still running (reserved, not yet reported)."""
        q = select(func.coalesce(func.sum(GuardActionRow.pods_affected), 0)).where(
            GuardActionRow.target_key == target_key, GuardActionRow.at >= since,
            GuardActionRow.status == ActionStatus.reserved.value)
        return int(self._s.scalar(q) or 0)

    def count_actions(self, target_key: str, actions: Collection[str], since: datetime) -> int:
        q = select(func.count()).select_from(GuardActionRow).where(
            GuardActionRow.target_key == target_key, GuardActionRow.action.in_(list(actions)),
            GuardActionRow.at >= since, GuardActionRow.status.in_(_COUNTED))
        return int(self._s.scalar(q) or 0)

    def last_action_at(self, target_key: str, actions: Collection[str]) -> datetime | None:
        q = select(func.max(GuardActionRow.at)).where(
            GuardActionRow.target_key == target_key, GuardActionRow.action.in_(list(actions)),
            GuardActionRow.status.in_(_COUNTED))
        value = self._s.scalar(q)  # max() keeps the column type, so the datetime comes back aware
        return value if isinstance(value, datetime) else None

    def snapshot(self, now: datetime, window: float) -> LedgerSnapshot:
        hour = now - timedelta(hours=1)
        q = (select(GuardActionRow.cluster, GuardActionRow.namespace, func.count())
             .where(GuardActionRow.at >= hour, GuardActionRow.status.in_(_COUNTED))
             .group_by(GuardActionRow.cluster, GuardActionRow.namespace))
        per_namespace = {scope(str(cl), str(ns)): int(n) for cl, ns, n in self._s.execute(q)}
        touched = (select(GuardActionRow.cluster, GuardActionRow.target_key).distinct()
                   .where(GuardActionRow.at >= now - timedelta(seconds=window), GuardActionRow.status.in_(_COUNTED)))
        per_cluster: dict[str, set[str]] = {}
        for cl, key in self._s.execute(touched):
            per_cluster.setdefault(str(cl), set()).add(str(key))
        return LedgerSnapshot(total=sum(per_namespace.values()), per_namespace=per_namespace,
                              targets=set().union(*per_cluster.values()), per_cluster=per_cluster)

    def reserve(self, *, at: datetime, actor: str, action: str, target_key: str, namespace: str,
                pods_affected: int, rule: str = "", run_id: str | None = None, cluster: str = "") -> str:
        action_id = new_id()
        self._s.add(GuardActionRow(id=action_id, at=at, actor=actor, rule=rule, action=action, target_key=target_key,
                                   namespace=namespace, cluster=cluster, pods_affected=pods_affected,
                                   status=ActionStatus.reserved.value, finished_at=None, run_id=run_id))
        self._s.flush()
        return action_id


class ActionLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def locked(self) -> Iterator[LedgerView]:
        """One transaction serialized against every other guard (threads, processes, replicas)."""
        with self._db.write(lock=LEDGER_LOCK) as s:
            yield LedgerView(s)

    def finish(self, action_id: str, status: ActionStatus, *, at: datetime) -> ActionRecord | None:
        """Report what happened to a reserved action (`done`, `failed`, or `released` if nothing mutated)."""
        with self._db.write() as s:
            s.execute(update(GuardActionRow).where(GuardActionRow.id == action_id)
                      .values(status=status.value, finished_at=at))
            row = s.get(GuardActionRow, action_id, populate_existing=True)
            return _action(row) if row else None

    def get(self, action_id: str) -> ActionRecord | None:
        with self._db.read() as s:
            row = s.get(GuardActionRow, action_id)
            return _action(row) if row else None

    def list(self, *, target_key: str | None = None, since: datetime | None = None,
             limit: int = 100) -> builtins.list[ActionRecord]:
        q = select(GuardActionRow)
        if target_key is not None:
            q = q.where(GuardActionRow.target_key == target_key)
        if since is not None:
            q = q.where(GuardActionRow.at >= since)
        q = q.order_by(GuardActionRow.at.desc(), GuardActionRow.id).limit(clamp_limit(limit))
        with self._db.read() as s:
            return [_action(r) for r in s.scalars(q)]


def _cooldown(r: CooldownRow) -> CooldownRecord:
    return CooldownRecord(rule=r.rule, target_key=r.target_key, until=r.until, set_at=r.set_at,
                          decision_id=r.decision_id)


def _action(r: GuardActionRow) -> ActionRecord:
    return ActionRecord(id=r.id, at=r.at, actor=r.actor, rule=r.rule, action=r.action, target_key=r.target_key,
                        namespace=r.namespace, pods_affected=r.pods_affected, status=ActionStatus(r.status),
                        finished_at=r.finished_at, run_id=r.run_id, cluster=r.cluster)

