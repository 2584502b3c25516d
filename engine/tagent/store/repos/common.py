"""Helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from tagent.model import WorkloadRef
from tagent.store.db import Database


def ref_of(kind: str, namespace: str, name: str) -> WorkloadRef:
    return WorkloadRef(kind=kind, namespace=namespace, name=name)


def insert_ignore(db: Database, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the current dialect (idempotent writes)."""
    if db.is_sqlite:
        return sqlite.insert(table).on_conflict_do_nothing()
    return postgresql.insert(table).on_conflict_do_nothing()


def clamp_limit(limit: int, maximum: int = 10_000) -> int:
    return max(1, min(int(limit), maximum))
