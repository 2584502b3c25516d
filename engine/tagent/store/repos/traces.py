"""The embedded span store: bulk inserts (one Core executemany per batch, duplicates ignored), retention by age
and by count (oldest first, in chunks so that no delete holds the write lock for long), and the reads the trace
queries need. Span rows are plain dicts with the columns of `SpanRow`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, desc, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from tagent.store.db import Database
from tagent.store.orm.traces import SpanResourceRow, SpanRow
from tagent.store.repos.common import table_of

SPANS = table_of(SpanRow)
RESOURCES = table_of(SpanResourceRow)
ENTRY_KINDS = (2, 5)  # SERVER, CONSUMER
DELETE_CHUNK = 20_000
MAX_DURATIONS = 500_000  # entry spans a RED query reads at most (the newest)
INSERT_COLUMNS = ("trace_id", "span_id", "parent_span_id", "service", "name", "kind", "start_us", "end_us",
                  "duration_ms", "status", "error", "http_status", "weight", "attributes")
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


def _json(value: Any) -> str:
    return _encode(value)


class Spans:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- writes --------------------------------------------------------------------------------------

    def add_many(self, rows: Sequence[dict[str, Any]], resources: dict[str, dict[str, Any]] | None = None, *,
                 at: datetime | None = None) -> None:
        """Insert span rows in one transaction (a span already stored is kept as it is) and record the resource
        attributes last seen per service (`at`: when)."""
        with self._db.write_core() as conn:
            if rows:
                # the driver's executemany on tuples: SQLAlchemy's per-row parameter processing cost more than
                # SQLite's own work (span ingest is the hot path: tens of thousands a second)
                values = [(r["trace_id"], r["span_id"], r["parent_span_id"], r["service"], r["name"], r["kind"],
                           r["start_us"], r["end_us"], r["duration_ms"], r["status"], bool(r["error"]),
                           r["http_status"], r.get("weight", 1.0), _json(r["attributes"])) for r in rows]
                conn.exec_driver_sql(self._insert_sql(), values)
            if resources and at is not None:
                conn.execute(self._upsert_resource(), [
                    {"service": s, "attributes": a, "last_seen": at} for s, a in resources.items()])

    def _insert_sql(self) -> str:
        marks = ", ".join(["?" if self._db.is_sqlite else "%s"] * len(INSERT_COLUMNS))
        return f"INSERT INTO spans ({', '.join(INSERT_COLUMNS)}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608

    def _upsert_resource(self) -> Any:
        dialect = sqlite if self._db.is_sqlite else postgresql
        stmt = dialect.insert(RESOURCES)
        return stmt.on_conflict_do_update(index_elements=["service"], set_={
            "attributes": stmt.excluded.attributes, "last_seen": stmt.excluded.last_seen})

    def prune(self, before_us: int) -> int:
        """Delete spans that started before `before_us`; returns how many."""
        removed = 0
        while True:
            oldest = select(SPANS.c.id).where(SPANS.c.start_us < before_us).order_by(SPANS.c.start_us)
            n = self._delete_ids(oldest.limit(DELETE_CHUNK))
            removed += n
            if n < DELETE_CHUNK:
                return removed

    def trim(self, max_spans: int) -> int:
        """Delete the oldest spans beyond `max_spans`; returns how many."""
        removed = 0
        excess = self.count() - max_spans
        while excess > 0:
            n = self._delete_ids(select(SPANS.c.id).order_by(SPANS.c.start_us).limit(min(excess, DELETE_CHUNK)))
            if n == 0:
                break
            removed += n
            excess -= n
        return removed

    def _delete_ids(self, ids: Select[Any]) -> int:
        with self._db.write_core() as conn:
            result = conn.execute(delete(SPANS).where(SPANS.c.id.in_(ids.scalar_subquery())))
            return int(result.rowcount)

    # -- reads ---------------------------------------------------------------------------------------

    def count(self) -> int:
        with self._db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SPANS)).scalar_one())

    def size_bytes(self) -> int:
        """Bytes the database file holds (SQLite) or the spans table with its indexes (PostgreSQL)."""
        with self._db.engine.connect() as conn:
            if self._db.is_sqlite:
                pages = conn.execute(text("PRAGMA page_count")).scalar_one()
                free = conn.execute(text("PRAGMA freelist_count")).scalar_one()
                size = conn.execute(text("PRAGMA page_size")).scalar_one()
                return int((pages - free) * size)
            return int(conn.execute(text("SELECT pg_total_relation_size('spans')")).scalar_one())

    def entry_spans(self, service: str, since_us: int, until_us: int) -> list[tuple[float, bool, float]]:
        """(duration_ms, error, weight) of the service's entry spans that started in [since, until): its SERVER and
        CONSUMER spans, or its root spans when it has none of those."""
        window = (SPANS.c.service == service, SPANS.c.start_us >= since_us, SPANS.c.start_us < until_us)
        base = (select(SPANS.c.duration_ms, SPANS.c.error, SPANS.c.weight).where(*window)
                .order_by(desc(SPANS.c.start_us)))
        with self._db.read() as s:
            rows = s.execute(base.where(SPANS.c.kind.in_(ENTRY_KINDS)).limit(MAX_DURATIONS)).all()
            if not rows:
                rows = s.execute(base.where(SPANS.c.parent_span_id == "").limit(MAX_DURATIONS)).all()
        return [(float(d), bool(e), float(w or 1.0)) for d, e, w in rows]

    def trace_ids(self, *, service: str | None, since_us: int, until_us: int, errors: bool,
                  min_duration_ms: float | None, slowest: bool, limit: int) -> list[str]:
        """Traces with a span (of `service` when given) in the window, newest first or slowest first (by that
        span's duration). `errors`: only traces with an error span; `min_duration_ms`: only traces with a
        span at least that long (the root span's duration is the trace's, nearly)."""
        newest, longest = func.max(SPANS.c.start_us), func.max(SPANS.c.duration_ms)
        window = (SPANS.c.start_us >= since_us, SPANS.c.start_us < until_us)
        query = select(SPANS.c.trace_id).where(*window)
        if service is not None:
            query = query.where(SPANS.c.service == service)
        if errors:
            query = query.where(SPANS.c.trace_id.in_(select(SPANS.c.trace_id).where(*window, SPANS.c.error)))
        if min_duration_ms is not None:
            query = query.where(SPANS.c.trace_id.in_(
                select(SPANS.c.trace_id).where(*window, SPANS.c.duration_ms >= min_duration_ms)))
        query = query.group_by(SPANS.c.trace_id).order_by(desc(longest if slowest else newest)).limit(limit)
        with self._db.read() as s:
            return [str(t) for t in s.execute(query).scalars()]

    def spans_of(self, trace_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Every stored span of these traces, by start time."""
        ids = list(trace_ids)
        if not ids:
            return []
        columns = [c for c in SPANS.c if c.name != "id"]
        with self._db.read() as s:
            rows = s.execute(select(*columns).where(SPANS.c.trace_id.in_(ids)).order_by(SPANS.c.start_us)).all()
        return [dict(r._mapping) for r in rows]

    def resource(self, service: str) -> tuple[dict[str, Any], datetime] | None:
        with self._db.read() as s:
            row = s.get(SpanResourceRow, service)
            return (dict(row.attributes), row.last_seen) if row is not None else None

    def services(self) -> list[tuple[str, datetime]]:
        """Every service that sent spans, with when it was last seen."""
        with self._db.read() as s:
            rows = s.execute(select(SpanResourceRow.service, SpanResourceRow.last_seen)
                             .order_by(SpanResourceRow.service)).all()
        return [(str(a), b) for a, b in rows]
