"""Many rows into PostgreSQL with COPY (the lifecycle unit's flush on PostgreSQL).

A storm's batch writes ~10,000 rows (events, decisions, verdicts, timeline entries). Through `executemany`
each row is a statement of its own on the server (bind, execute: ~50 us a row on a 2-core machine that also
runs the engine); COPY sends them as one stream (a few us a row). Tables whose writes must be idempotent
(`ON CONFLICT DO NOTHING`: a multi-event decision brings events stored by an earlier batch, a retried decision
is recorded again) are copied into a session-private staging table first and moved with one
`INSERT ... SELECT ... ON CONFLICT DO NOTHING`; the others are copied straight in. Same transaction, same
constraints and foreign keys as the INSERTs it replaces.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table


class CopyInsert:
    def __init__(self, table: Table, *, ignore_conflicts: bool) -> None:
        self.table, self.ignore = table, ignore_conflicts
        self.stage = f"tagent_stage_{table.name}"
        self._json = {c.name for c in table.columns if isinstance(c.type, JSON)}
        # Python-side column defaults (an INSERT through SQLAlchemy fills them in; COPY must do it itself)
        self._defaults = {c.name: c.default for c in table.columns
                          if c.default is not None and (c.default.is_scalar or c.default.is_callable)}

    def __call__(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        from psycopg import sql  # only a PostgreSQL store gets here

        given = list(rows[0])
        missing = [c for c in self._defaults if c not in rows[0]]
        columns = given + missing
        json_at = [n for n, c in enumerate(columns) if c in self._json]
        names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        table, stage = sql.Identifier(self.table.name), sql.Identifier(self.stage)
        raw = conn.connection.driver_connection  # the psycopg connection, inside SQLAlchemy's transaction
        assert raw is not None
        with raw.cursor() as cur:
            if self.ignore:  # every time: a CREATE in a transaction that rolled back is gone with it
                cur.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) "
                                    "ON COMMIT DELETE ROWS").format(stage, table))
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(stage if self.ignore else table, names)) as copy:
                for row in rows:
                    values = [row[c] for c in given] + [self._default(c) for c in missing]
                    for n in json_at:
                        if values[n] is not None:
                            values[n] = json.dumps(values[n])
                    copy.write_row(values)
            if self.ignore:  # emptied as it is moved: a unit may flush more than once
                cur.execute(sql.SQL("WITH moved AS (DELETE FROM {} RETURNING {}) "
                                    "INSERT INTO {} ({}) SELECT {} FROM moved ON CONFLICT DO NOTHING").format(
                    stage, names, table, names, names))

    def _default(self, name: str) -> Any:
        default: Any = self._defaults[name]
        return default.arg(None) if default.is_callable else default.arg
