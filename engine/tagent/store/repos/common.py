"""Helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from tagent.model import WorkloadRef
from tagent.store.db import Database


def table_of(orm_class: Any) -> Table:
    """The Core table behind an ORM class, typed as such."""
    table = orm_class.__table__
    assert isinstance(table, Table)
    return table


def ref_of(kind: str, namespace: str, name: str, cluster: str = "") -> WorkloadRef:
    return WorkloadRef(kind=kind, namespace=namespace, name=name, cluster=cluster)


def insert_ignore(db: Database, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the current dialect (idempotent writes).

    Callers rely on its rowcount to know whether they won, so it is built on the Core table (an ORM insert
    runs as a bulk insert) and asks SQLAlchemy to keep the rowcount (it does not for INSERT otherwise)."""
    core = table_of(table)
    dialect = sqlite if db.is_sqlite else postgresql
    return dialect.insert(core).on_conflict_do_nothing().execution_options(preserve_rowcount=True)


def clamp_limit(limit: int, maximum: int = 10_000) -> int:
    return max(1, min(int(limit), maximum))
